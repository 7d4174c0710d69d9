/* The decode-and-check of every protobuf handler, as each handler runs it
 * before it touches the database. The first byte of the input picks the
 * handler, the rest is the Kafka message value:
 *   0  bereavement, DeclarationSubmitted   3  gateway, JourneyPlanned
 *   1, 7, 11  StepConfirmed (the gateway's 4  gateway, StepReported
 *      contract, every owner)              5  gateway, StepsAdded
 *   2  DeathRecorded (bereavement's contract)
 *   6  identity, DeclarationSubmitted    10  abroad, DeclarationSubmitted
 *   8, 16  ResidenceAbroadStarted         9, 17  ResidenceAbroadEnded
 *      (abroad's contract)                   (abroad's contract)
 *  12, 14  AddressChanged                13, 15  PersonNameChanged
 *      (identity's contract)                 (identity's contract)
 *  18  student/housing/bereavement, JourneyPlanned (the steps they note)
 *  19  housing, DeclarationSubmitted    20  identity, RenovationGrantRequested
 *  21  RenovationGrantEstimated (housing's contract, for its consumers)
 *  22  identity, StudentGrantRequested  23  StudentGrantDecided (student's
 *      (student's contract)                  contract, for its consumers)
 * An event's decoder is its producer's contract, which every consumer
 * links: one handler checks what all of them read (the bytes each consumer
 * had stay, so the corpus keeps its meaning).
 *
 * Invariants: a rejection always says why; what a check lets through holds
 * the fields the handler then reads without looking again. */
#include "fuzz.h"

#include <jansson.h>

#include "mdv/pg.h"
#include "mdv/journey.h"
#include "mdv/reaction.h"
#include "mdv/validate.h"

#include "../../services/abroad/abroad.h"
#include "../../services/abroad/contract.h"
#include "../../services/bereavement/contract.h"
#include "../../services/bereavement/messages.h"
#include "../../services/gateway/gateway.h"
#include "../../services/identity/contract.h"
#include "../../services/housing/contract.h"
#include "../../services/student/contract.h"
#include "../../services/housing/housing.h"
#include "../../services/identity/identity.h"

enum {
    DECLARATION,
    CONFIRMATION,
    DEATH,
    PLANNED,
    STEP,
    ADDED,
    IDENTITY_DECLARATION,
    IDENTITY_CONFIRMATION,
    IDENTITY_STARTED,
    IDENTITY_ENDED,
    ABROAD_DECLARATION,
    ABROAD_CONFIRMATION,
    ABROAD_ADDRESS,
    ABROAD_NAME,
    REACTION_ADDRESS,
    REACTION_NAME,
    REACTION_STARTED,
    REACTION_ENDED,
    REACTION_PLAN,
    HOUSING_DECLARATION,
    RENOVATION_REQUESTED,
    RENOVATION_ESTIMATED,
    GRANT_REQUESTED,
    GRANT_DECIDED,
    HANDLERS
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_set_locale();
    return 0;
}

static void declaration(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    declaration_t *d = NULL;
    if (bereavement_declaration_decode(value, len, &d, err, errlen) != 0) {
        FUZZ_REQUIRE(!d && *err);
        return;
    }
    if (d) {
        const bereavement_t *b = d->bereavement;
        FUZZ_REQUIRE(strcmp(d->kind, "bereavement") == 0);
        FUZZ_REQUIRE(b && b->deceased && b->deceased->n_given_names > 0);
        FUZZ_REQUIRE(mdv_uuid_valid(d->journey_id));
        /* The death record stores every given name in a PostgreSQL array
         * literal, which a quote or a backslash would break. */
        for (size_t i = 0; i < b->deceased->n_given_names; i++)
            FUZZ_REQUIRE(mdv_validate_name(b->deceased->given_names[i]) == NULL);
        /* apply_declaration matches the deceased on the pivot key. */
        const Mdv__Journey__V1__PivotIdentity *p = b->deceased;
        char key[MDV_PIVOT_KEY_LEN];
        FUZZ_REQUIRE(mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date,
                                   p->birth_place, key) == 0);
    }
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
}

static void confirmation(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Gateway__V1__StepConfirmed *c = NULL;
    if (mdv_gateway_confirmation_decode(value, len, &c, err, errlen) != 0) {
        FUZZ_REQUIRE(!c && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(c->journey_id) && *c->usager_id && *c->code);
    mdv__gateway__v1__step_confirmed__free_unpacked(c, NULL);
}

static void death(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Bereavement__V1__DeathRecorded *d = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_bereavement_death_decode(value, len, &d, key, err, errlen) != 0) {
        FUZZ_REQUIRE(!d && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(d->journey_id) && d->deceased);
    FUZZ_REQUIRE(mdv_validate_date(d->death_date) == NULL);
    FUZZ_REQUIRE(memchr(key, '\0', sizeof(key)) && strchr(key, '|'));
    mdv__bereavement__v1__death_recorded__free_unpacked(d, NULL);
}

static void planned(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Journey__V1__JourneyPlanned *p = NULL;
    if (projection_planned_decode(value, len, &p, err, errlen) != 0) {
        FUZZ_REQUIRE(!p && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(p->journey_id) && p->n_steps > 0);
    for (size_t i = 0; i < p->n_steps; i++)
        FUZZ_REQUIRE(p->steps[i] && p->steps[i]->code && p->steps[i]->due_at);
    mdv__journey__v1__journey_planned__free_unpacked(p, NULL);
}

static void step(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Journey__V1__StepReported *r = NULL;
    const char *status = NULL;
    if (projection_step_decode(value, len, &r, &status, err, errlen) != 0) {
        FUZZ_REQUIRE(!r && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(r->journey_id) && *r->code && status && r->sequence > 0);
    FUZZ_REQUIRE(r->reported_at && r->detail);
    mdv__journey__v1__step_reported__free_unpacked(r, NULL);
}

static void added(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Journey__V1__StepsAdded *a = NULL;
    if (projection_added_decode(value, len, &a, err, errlen) != 0) {
        FUZZ_REQUIRE(!a && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(a->journey_id) && a->n_steps > 0);
    for (size_t i = 0; i < a->n_steps; i++)
        FUZZ_REQUIRE(a->steps[i] && *a->steps[i]->code && a->steps[i]->due_at);
    mdv__journey__v1__steps_added__free_unpacked(a, NULL);
}

/* What the identity handlers read without looking again: a matchable
 * person, and the address each of them records. */
static void identity_person_ok(const Mdv__Journey__V1__PivotIdentity *p)
{
    char key[MDV_PIVOT_KEY_LEN];
    FUZZ_REQUIRE(p && mdv_reaction_person_problem(p, key) == NULL);
    FUZZ_REQUIRE(mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date,
                               p->birth_place, key) == 0);
}

static void identity_declaration(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    identity_declaration_t *d = NULL;
    if (identity_declaration_decode(value, len, &d, err, errlen) != 0) {
        FUZZ_REQUIRE(!d && *err);
        return;
    }
    if (!d)
        return;
    FUZZ_REQUIRE(mdv_uuid_valid(d->journey_id) && *d->usager_id);
    if (d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_ADDRESS_CHANGE) {
        identity_person_ok(d->address_change->person);
        const Mdv__Journey__V1__Address *a = d->address_change->address;
        FUZZ_REQUIRE(mdv_reaction_address_problem(a) == NULL);
        /* The register stores the lines through JSON: each must encode. */
        for (size_t i = 0; i < a->n_lines; i++) {
            json_t *line = json_string(a->lines[i]);
            FUZZ_REQUIRE(line != NULL);
            json_decref(line);
        }
    } else if (d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_NAME_CHANGE) {
        identity_person_ok(d->name_change->person);
        FUZZ_REQUIRE(mdv_pivot_name_problem(d->name_change->new_family_name) == NULL);
    } else {
        FUZZ_REQUIRE(d->body_case ==
                     MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_IDENTITY_DOCUMENT);
        identity_person_ok(d->identity_document->person);
    }
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
}

/* What the abroad handlers read without looking again: a person with a
 * matching key and every given name fit for the registre's text[]. */
static void abroad_person_ok(const Mdv__Journey__V1__PivotIdentity *p)
{
    char key[MDV_PIVOT_KEY_LEN];
    FUZZ_REQUIRE(p && p->n_given_names > 0 && abroad_person_key(p, key) == 0);
    for (size_t i = 0; i < p->n_given_names; i++)
        FUZZ_REQUIRE(mdv_validate_name(p->given_names[i]) == NULL);
}

/* Lines and city end up in the registre's text columns, as JSON too. */
static void abroad_address_ok(const Mdv__Journey__V1__Address *a)
{
    FUZZ_REQUIRE(a && a->n_lines >= 1 && a->n_lines <= 3 && a->city && a->postal_code);
    char *lines = mdv_pg_texts_json(a->lines, a->n_lines);
    FUZZ_REQUIRE(lines);
    json_t *parsed = json_loads(lines, 0, NULL);
    FUZZ_REQUIRE(json_is_array(parsed) && json_array_size(parsed) == a->n_lines);
    json_decref(parsed);
    free(lines);
}

static void abroad_declaration(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    abroad_declaration_t *d = NULL;
    if (abroad_declaration_decode(value, len, &d, err, errlen) != 0) {
        FUZZ_REQUIRE(!d && *err);
        return;
    }
    if (!d)
        return;
    FUZZ_REQUIRE(mdv_uuid_valid(d->journey_id));
    if (d->body_case == MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_DEPARTURE_ABROAD) {
        FUZZ_REQUIRE(strcmp(d->kind, "departure_abroad") == 0);
        abroad_person_ok(d->departure_abroad->person);
        abroad_address_ok(d->departure_abroad->address);
        FUZZ_REQUIRE(mdv_validate_date(d->departure_abroad->departure_date) == NULL);
    } else {
        FUZZ_REQUIRE(d->body_case ==
                     MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RETURN_TO_FRANCE);
        FUZZ_REQUIRE(strcmp(d->kind, "return_to_france") == 0);
        abroad_person_ok(d->return_to_france->person);
        abroad_address_ok(d->return_to_france->address);
        FUZZ_REQUIRE(mdv_validate_date(d->return_to_france->return_date) == NULL);
    }
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
}

/* What the reacting services read without looking again: a key that is
 * the person's, and an address in France. */
static void reaction_person_ok(const Mdv__Journey__V1__PivotIdentity *p, const char *key)
{
    char again[MDV_PIVOT_KEY_LEN];
    FUZZ_REQUIRE(p && p->n_given_names > 0 &&
                 mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date,
                               p->birth_place, again) == 0 &&
                 strcmp(again, key) == 0);
}

/* Each event's decoder is its producer's contract, which every consumer
 * links: what it lets through holds what each consumer's handlers read. */
static void address_changed(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Identity__V1__AddressChanged *a = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_identity_address_changed_decode(value, len, &a, key, err, errlen) != 0) {
        FUZZ_REQUIRE(!a && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(a->journey_id) && mdv_validate_date(a->effective_date) == NULL);
    abroad_person_ok(a->person);
    reaction_person_ok(a->person, key);
    abroad_address_ok(a->address);
    FUZZ_REQUIRE(mdv_reaction_address_problem(a->address) == NULL);
    mdv__identity__v1__address_changed__free_unpacked(a, NULL);
}

static void name_changed(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Identity__V1__PersonNameChanged *n = NULL;
    char previous[MDV_PIVOT_KEY_LEN], current[MDV_PIVOT_KEY_LEN];
    if (mdv_identity_name_changed_decode(value, len, &n, previous, current, err, errlen) != 0) {
        FUZZ_REQUIRE(!n && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(n->journey_id) && mdv_validate_date(n->effective_date) == NULL);
    FUZZ_REQUIRE(n->usage_name);
    abroad_person_ok(n->previous);
    abroad_person_ok(n->current);
    reaction_person_ok(n->previous, previous);
    reaction_person_ok(n->current, current);
    FUZZ_REQUIRE(n->birth_name_changed || strcmp(previous, current) == 0);
    mdv__identity__v1__person_name_changed__free_unpacked(n, NULL);
}

static void residence_started(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Abroad__V1__ResidenceAbroadStarted *s = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_abroad_started_decode(value, len, &s, key, err, errlen) != 0) {
        FUZZ_REQUIRE(!s && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(s->journey_id) && mdv_validate_date(s->start_date) == NULL);
    identity_person_ok(s->person);
    reaction_person_ok(s->person, key);
    FUZZ_REQUIRE(mdv_reaction_foreign_address_problem(s->address) == NULL);
    mdv__abroad__v1__residence_abroad_started__free_unpacked(s, NULL);
}

static void residence_ended(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Abroad__V1__ResidenceAbroadEnded *e = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_abroad_ended_decode(value, len, &e, key, err, errlen) != 0) {
        FUZZ_REQUIRE(!e && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(e->journey_id) && mdv_validate_date(e->end_date) == NULL);
    identity_person_ok(e->person);
    reaction_person_ok(e->person, key);
    FUZZ_REQUIRE(mdv_reaction_address_problem(e->address) == NULL);
    mdv__abroad__v1__residence_abroad_ended__free_unpacked(e, NULL);
}

static void reaction_plan(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Journey__V1__JourneyPlanned *p = NULL;
    if (mdv_reaction_plan_decode(value, len, &p, err, errlen) != 0) {
        FUZZ_REQUIRE(!p && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(p->journey_id));
    for (size_t i = 0; i < p->n_steps; i++)
        FUZZ_REQUIRE(*p->steps[i]->code && *p->steps[i]->owner);
    mdv__journey__v1__journey_planned__free_unpacked(p, NULL);
}

/* What housing's renovation handler reads without looking again: the
 * applicant's key, a dwelling in France, 1 to 10 items each with a code. */
static void housing_declaration(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    housing_declaration_t *d = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (housing_declaration_decode(value, len, &d, key, err, errlen) != 0) {
        FUZZ_REQUIRE(!d && *err);
        return;
    }
    if (!d)
        return; /* another kind */
    const Mdv__Gateway__V1__RenovationGrantDeclaration *r = d->renovation_grant;
    FUZZ_REQUIRE(r && r->person && r->dwelling && *key);
    FUZZ_REQUIRE(mdv_reaction_address_problem(r->dwelling) == NULL);
    FUZZ_REQUIRE(r->n_items >= 1 && r->n_items <= 10 && r->household_size >= 1);
    for (size_t i = 0; i < r->n_items; i++)
        FUZZ_REQUIRE(*r->items[i]->code && r->items[i]->cost_eur > 0);
    mdv__gateway__v1__declaration_submitted__free_unpacked(d, NULL);
}

static void renovation_requested(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Housing__V1__RenovationGrantRequested *m = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_housing_requested_decode(value, len, &m, key, err, errlen) != 0) {
        FUZZ_REQUIRE(!m && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(m->journey_id) && *key && m->dwelling);
    FUZZ_REQUIRE(mdv_reaction_address_problem(m->dwelling) == NULL);
    mdv__housing__v1__renovation_grant_requested__free_unpacked(m, NULL);
}

static void renovation_estimated(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Housing__V1__RenovationGrantEstimated *m = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    uint64_t total = 0;
    if (mdv_housing_estimated_decode(value, len, &m, key, err, errlen) != 0) {
        FUZZ_REQUIRE(!m && *err);
        return;
    }
    for (size_t i = 0; i < m->n_items; i++) {
        FUZZ_REQUIRE(m->items[i]->amount_eur <= m->items[i]->eligible_eur);
        total += m->items[i]->amount_eur;
    }
    FUZZ_REQUIRE(total == m->total_eur && *m->file_number);
    mdv__housing__v1__renovation_grant_estimated__free_unpacked(m, NULL);
}

/* What identity's check of a student reads: the journey, the student's
 * key, an academic year « AAAA-AAAA ». */
static void grant_requested(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Student__V1__StudentGrantRequested *m = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_student_grant_requested_decode(value, len, &m, key, err, errlen) != 0) {
        FUZZ_REQUIRE(!m && *err);
        return;
    }
    FUZZ_REQUIRE(mdv_uuid_valid(m->journey_id) && *key && strlen(m->academic_year) == 9);
    mdv__student__v1__student_grant_requested__free_unpacked(m, NULL);
}

/* A decision: an échelon with an amount, or none with 0 €. */
static void grant_decided(const uint8_t *value, size_t len, char *err, size_t errlen)
{
    Mdv__Student__V1__StudentGrantDecided *m = NULL;
    char key[MDV_PIVOT_KEY_LEN];
    if (mdv_student_grant_decided_decode(value, len, &m, key, err, errlen) != 0) {
        FUZZ_REQUIRE(!m && *err);
        return;
    }
    FUZZ_REQUIRE(*key && mdv_uuid_valid(m->grant_journey_id));
    FUZZ_REQUIRE((*m->echelon != '\0') == (m->annual_amount_eur > 0));
    mdv__student__v1__student_grant_decided__free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const handlers[HANDLERS])(const uint8_t *, size_t, char *, size_t) = {
        [DECLARATION] = declaration,
        [CONFIRMATION] = confirmation,
        [DEATH] = death,
        [PLANNED] = planned,
        [STEP] = step,
        [ADDED] = added,
        [IDENTITY_DECLARATION] = identity_declaration,
        [IDENTITY_CONFIRMATION] = confirmation, /* one contract for every owner */
        [IDENTITY_STARTED] = residence_started,
        [IDENTITY_ENDED] = residence_ended,
        [ABROAD_DECLARATION] = abroad_declaration,
        [ABROAD_CONFIRMATION] = confirmation,
        [ABROAD_ADDRESS] = address_changed,
        [ABROAD_NAME] = name_changed,
        [REACTION_ADDRESS] = address_changed,
        [REACTION_NAME] = name_changed,
        [REACTION_STARTED] = residence_started,
        [REACTION_ENDED] = residence_ended,
        [REACTION_PLAN] = reaction_plan,
        [HOUSING_DECLARATION] = housing_declaration,
        [RENOVATION_REQUESTED] = renovation_requested,
        [RENOVATION_ESTIMATED] = renovation_estimated,
        [GRANT_REQUESTED] = grant_requested,
        [GRANT_DECIDED] = grant_decided,
    };
    char err[256] = "";

    if (size == 0 || data[0] >= HANDLERS)
        return -1; /* not an input of this target: kept out of the corpus */
    /* A copy of exactly the value's bytes, so reading past it is caught. */
    uint8_t *value = mdv_xmalloc(size - 1 ? size - 1 : 1);
    memcpy(value, data + 1, size - 1);
    handlers[data[0]](value, size - 1, err, sizeof(err));
    free(value);
    return 0;
}
