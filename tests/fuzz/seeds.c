/* Writes the generated part of the seed corpus: packed protobufs, one per
 * case a handler distinguishes, and tokens signed with the test key (valid
 * until 2100, so the seeds keep reaching the claim checks).
 *
 * Usage: fuzz-seeds CORPUS_DIR KEYS_DIR  (make fuzz-seeds) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdv/abroad/v1/abroad.pb-c.h"
#include "mdv/auth.h"
#include "mdv/bereavement/v1/death.pb-c.h"
#include "mdv/gateway/v1/declarations.pb-c.h"
#include "mdv/housing/v1/housing.pb-c.h"
#include "mdv/student/v1/student.pb-c.h"
#include "mdv/identity/v1/identity.pb-c.h"
#include "mdv/journey/v1/journey.pb-c.h"

#define JOURNEY "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7"
#define YEAR_2100 4102444800L

static const char *corpus;

/* Writes prefix (the handler byte, or none) and the bytes. */
static int write_seed(const char *target, const char *name, int prefix, const void *data,
                      size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/seed-%s", corpus, target, name);
    FILE *f = fopen(path, "wb");
    int rc = f ? 0 : -1;
    if (f && prefix >= 0 && fputc(prefix, f) == EOF)
        rc = -1;
    if (f && len && fwrite(data, 1, len, f) != len)
        rc = -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc)
        fprintf(stderr, "fuzz-seeds: cannot write %s\n", path);
    return rc;
}

static int write_message(const char *name, int handler, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    int rc = write_seed("protobuf", name, handler, buf, len);
    free(buf);
    return rc;
}

/* A pivot identity (the strings are not copied). */
static Mdv__Journey__V1__PivotIdentity identity(const char *family_name, char **given_names,
                                                size_t n_given_names, const char *sex,
                                                const char *birth_date, const char *birth_place)
{
    Mdv__Journey__V1__PivotIdentity p = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    p.family_name = (char *)family_name;
    p.n_given_names = n_given_names;
    p.given_names = given_names;
    p.sex = (char *)sex;
    p.birth_date = (char *)birth_date;
    p.birth_place = (char *)birth_place;
    return p;
}

/* An address: in France with a commune_code, abroad with a country_code
 * ("" for the other). */
static Mdv__Journey__V1__Address address(char **lines, size_t n_lines, const char *postal_code,
                                         const char *commune_code, const char *city,
                                         const char *country_code)
{
    Mdv__Journey__V1__Address a = MDV__JOURNEY__V1__ADDRESS__INIT;
    a.n_lines = n_lines;
    a.lines = lines;
    a.postal_code = (char *)postal_code;
    a.commune_code = (char *)commune_code;
    a.city = (char *)city;
    a.country_code = (char *)country_code;
    return a;
}

static int declarations(void)
{
    static char *given[] = {"Jeanne", "Marie", "Hélène"};
    Mdv__Journey__V1__PivotIdentity p =
        identity("Dupont-Lefèvre", given, 3, "F", "1941-02-28", "75056");
    Mdv__Gateway__V1__BereavementDeclaration b = MDV__GATEWAY__V1__BEREAVEMENT_DECLARATION__INIT;
    Mdv__Gateway__V1__DeclarationSubmitted d = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__INIT;
    int rc = 0;

    b.deceased = &p;
    b.death_date = "2026-10-03";
    b.death_place = "2A004";
    b.declarant_relationship = "spouse";
    d.journey_id = JOURNEY;
    d.usager_id = "usager-1";
    d.kind = "bereavement";
    d.submitted_at = "2026-10-04T09:12:00Z";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_BEREAVEMENT;
    d.bereavement = &b;
    rc |= write_message("declaration-spouse", 0, &d.base);
    b.declarant_relationship = "child";
    p.n_given_names = 1;
    rc |= write_message("declaration-child", 0, &d.base);
    d.kind = "student";
    rc |= write_message("declaration-other-kind", 0, &d.base);
    d.kind = "bereavement";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY__NOT_SET;
    d.bereavement = NULL;
    rc |= write_message("declaration-no-body", 0, &d.base);
    return rc;
}

static int confirmations(void)
{
    Mdv__Gateway__V1__StepConfirmed c = MDV__GATEWAY__V1__STEP_CONFIRMED__INIT;
    int rc = 0;
    c.journey_id = JOURNEY;
    c.usager_id = "usager-1";
    c.code = "bereavement.survivor_pension";
    c.confirmed_at = "2026-10-05T10:00:00Z";
    rc |= write_message("confirmation-survivor", 1, &c.base);
    c.code = "housing.mpr_file_closed";
    rc |= write_message("confirmation-other-step", 1, &c.base);
    return rc;
}

static int deaths(void)
{
    static char *given[] = {"Éloïse", "Anne"};
    Mdv__Journey__V1__PivotIdentity p = identity("d'Arc", given, 2, "F", "1950-12-31", "99134");
    Mdv__Bereavement__V1__DeathRecorded d = MDV__BEREAVEMENT__V1__DEATH_RECORDED__INIT;
    int rc = 0;
    d.journey_id = JOURNEY;
    d.deceased = &p;
    d.death_date = "2026-10-03";
    d.death_place = "13055";
    d.recorded_at = "2026-10-04T09:12:01.123456Z";
    rc |= write_message("death", 2, &d.base);
    p.family_name = "Œuvray";
    p.sex = "M";
    rc |= write_message("death-ligature", 2, &d.base);
    return rc;
}

static int plans(void)
{
    Mdv__Journey__V1__PlannedStep steps[3] = {MDV__JOURNEY__V1__PLANNED_STEP__INIT,
                                              MDV__JOURNEY__V1__PLANNED_STEP__INIT,
                                              MDV__JOURNEY__V1__PLANNED_STEP__INIT};
    Mdv__Journey__V1__PlannedStep *ptrs[3] = {&steps[0], &steps[1], &steps[2]};
    Mdv__Journey__V1__JourneyPlanned plan = MDV__JOURNEY__V1__JOURNEY_PLANNED__INIT;
    steps[0].code = "bereavement.death_recorded";
    steps[0].owner = "bereavement";
    steps[0].administration = "État civil";
    steps[0].label = "Enregistrement du décès";
    steps[0].due_at = "2026-10-05T09:12:00Z";
    steps[1].code = "identity.documents_cancelled";
    steps[1].owner = "identity";
    steps[1].administration = "ANTS";
    steps[1].label = "Annulation des titres d'identité";
    steps[2].code = "bereavement.survivor_pension";
    steps[2].owner = "bereavement";
    steps[2].administration = "Caisses de retraite";
    steps[2].label = "Pension de réversion";
    steps[2].due_at = "2026-12-04T09:12:00Z";
    plan.journey_id = JOURNEY;
    plan.kind = "bereavement";
    plan.n_steps = 3;
    plan.steps = ptrs;
    plan.planned_at = "2026-10-04T09:12:01Z";
    return write_message("planned", 3, &plan.base) |
           write_message("reaction-planned", 18, &plan.base);
}

static int added(void)
{
    Mdv__Journey__V1__PlannedStep step = MDV__JOURNEY__V1__PLANNED_STEP__INIT;
    Mdv__Journey__V1__PlannedStep *ptrs[1] = {&step};
    Mdv__Journey__V1__StepsAdded a = MDV__JOURNEY__V1__STEPS_ADDED__INIT;
    step.code = "student.bourse_reassessed";
    step.owner = "student";
    step.administration = "Crous";
    step.label = "Réexamen de la bourse";
    step.due_at = "2026-11-04T09:12:00Z";
    a.journey_id = JOURNEY;
    a.n_steps = 1;
    a.steps = ptrs;
    a.added_at = "2026-10-04T09:12:03Z";
    return write_message("steps-added", 5, &a.base);
}

static int steps(void)
{
    Mdv__Journey__V1__StepReported r = MDV__JOURNEY__V1__STEP_REPORTED__INIT;
    char name[64];
    int rc = 0;
    r.journey_id = JOURNEY;
    r.code = "identity.documents_cancelled";
    r.administration = "ANTS";
    r.label = "Annulation des titres d'identité";
    r.detail = "2 titres annulés";
    r.reported_at = "2026-10-04T09:12:02.5Z";
    for (int status = 0; status <= 8; status++) {
        r.sequence = (uint32_t)(status ? status : 1);
        r.status = (Mdv__Journey__V1__StepStatus)status;
        snprintf(name, sizeof(name), "step-status-%d", status);
        rc |= write_message(name, 4, &r.base);
    }
    r.status = MDV__JOURNEY__V1__STEP_STATUS__STEP_STATUS_DONE;
    r.reported_at = "";
    r.due_at = "2026-10-11T09:12:00Z";
    rc |= write_message("step-no-time", 4, &r.base);
    return rc;
}

/* identity's kinds and the residence abroad it records. */
static int identity_messages(void)
{
    static char *given[] = {"Loïc"};
    static char *lines[] = {"12 rue des Lilas", "Bâtiment B"};
    Mdv__Journey__V1__PivotIdentity p = identity("Le Goff", given, 1, "M", "1990-05-01", "29019");
    Mdv__Journey__V1__Address a = address(lines, 2, "75011", "75056", "Paris", "");
    Mdv__Gateway__V1__AddressChangeDeclaration ac =
        MDV__GATEWAY__V1__ADDRESS_CHANGE_DECLARATION__INIT;
    Mdv__Gateway__V1__DeclarationSubmitted d = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__INIT;
    Mdv__Gateway__V1__StepConfirmed c = MDV__GATEWAY__V1__STEP_CONFIRMED__INIT;
    Mdv__Abroad__V1__ResidenceAbroadStarted st = MDV__ABROAD__V1__RESIDENCE_ABROAD_STARTED__INIT;
    Mdv__Abroad__V1__ResidenceAbroadEnded en = MDV__ABROAD__V1__RESIDENCE_ABROAD_ENDED__INIT;
    int rc = 0;
    ac.person = &p;
    ac.address = &a;
    ac.effective_date = "2026-12-01";
    d.journey_id = JOURNEY;
    d.usager_id = "usager-1";
    d.kind = "address_change";
    d.submitted_at = "2026-11-20T09:12:00Z";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_ADDRESS_CHANGE;
    d.address_change = &ac;
    rc |= write_message("identity-address-change", 6, &d.base);
    lines[1] = "B\xed\xa0\x80"; /* a surrogate: not storable text */
    rc |= write_message("identity-address-surrogate", 6, &d.base);
    lines[1] = "Bâtiment B";
    c.journey_id = JOURNEY;
    c.usager_id = "usager-1";
    c.code = "identity.appointment";
    rc |= write_message("identity-appointment", 7, &c.base);
    en.journey_id = JOURNEY;
    en.person = &p;
    en.address = &a;
    en.end_date = "2026-12-01";
    rc |= write_message("identity-abroad-ended", 9, &en.base);
    rc |= write_message("reaction-abroad-ended", 17, &en.base);
    a = address(lines, 2, "H2X 1Y4", "", "Montréal", "99401");
    st.journey_id = JOURNEY;
    st.person = &p;
    st.address = &a;
    st.start_date = "2026-09-01";
    rc |= write_message("identity-abroad-started", 8, &st.base);
    rc |= write_message("reaction-abroad-started", 16, &st.base);
    return rc;
}

/* abroad's kinds and identity's events it reacts to. */
static int abroad_messages(void)
{
    static char *given[] = {"Anaïs", "Claire"};
    static char *lines[] = {"1200 rue Sherbrooke Ouest"};
    static char *home[] = {"3 place du Marché"};
    Mdv__Journey__V1__PivotIdentity p = identity("Martin", given, 2, "F", "1985-03-14", "69123");
    Mdv__Journey__V1__PivotIdentity q = p;
    Mdv__Journey__V1__Address a = address(lines, 1, "H3A 1E4", "", "Montréal", "99401");
    Mdv__Journey__V1__Address f = address(home, 1, "13001", "13055", "Marseille", "");
    Mdv__Gateway__V1__DepartureAbroadDeclaration dep =
        MDV__GATEWAY__V1__DEPARTURE_ABROAD_DECLARATION__INIT;
    Mdv__Gateway__V1__ReturnToFranceDeclaration ret =
        MDV__GATEWAY__V1__RETURN_TO_FRANCE_DECLARATION__INIT;
    Mdv__Gateway__V1__DeclarationSubmitted d = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__INIT;
    Mdv__Gateway__V1__StepConfirmed c = MDV__GATEWAY__V1__STEP_CONFIRMED__INIT;
    Mdv__Identity__V1__AddressChanged ch = MDV__IDENTITY__V1__ADDRESS_CHANGED__INIT;
    Mdv__Identity__V1__PersonNameChanged nc = MDV__IDENTITY__V1__PERSON_NAME_CHANGED__INIT;
    int rc = 0;
    dep.person = &p;
    dep.address = &a;
    dep.departure_date = "2026-09-01";
    d.journey_id = JOURNEY;
    d.usager_id = "usager-2";
    d.kind = "departure_abroad";
    d.submitted_at = "2026-08-20T09:12:00Z";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_DEPARTURE_ABROAD;
    d.departure_abroad = &dep;
    rc |= write_message("abroad-departure", 10, &d.base);
    ret.person = &p;
    ret.address = &f;
    ret.return_date = "2027-06-30";
    d.kind = "return_to_france";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RETURN_TO_FRANCE;
    d.return_to_france = &ret;
    rc |= write_message("abroad-return", 10, &d.base);
    c.journey_id = JOURNEY;
    c.usager_id = "usager-2";
    c.code = "abroad.registration_reviewed";
    rc |= write_message("abroad-confirmation", 11, &c.base);
    ch.journey_id = JOURNEY;
    ch.person = &p;
    ch.address = &f;
    ch.effective_date = "2026-12-01";
    ch.changed_at = "2026-12-01T10:00:00Z";
    rc |= write_message("abroad-address-changed", 12, &ch.base);
    q.family_name = "Martin-Durand";
    nc.journey_id = JOURNEY;
    nc.previous = &p;
    nc.current = &q;
    nc.usage_name = "Durand";
    nc.birth_name_changed = 1;
    nc.effective_date = "2026-12-01";
    rc |= write_message("abroad-name-changed", 13, &nc.base);
    /* The same events as student, housing and bereavement check them. */
    rc |= write_message("reaction-address-changed", 14, &ch.base);
    rc |= write_message("reaction-name-changed", 15, &nc.base);
    return rc;
}

static int token(const char *keys, const char *name, const char *scheme, const char *aud)
{
    char key[1024];
    snprintf(key, sizeof(key), "%s/es256-private.pem", keys);
    char *t = mdv_auth_mint(key, "mdv-local", aud, "usager-42", YEAR_2100 - (long)time(NULL));
    if (!t)
        return -1;
    char *header = malloc(strlen(scheme) + strlen(t) + 2);
    sprintf(header, "%s %s", scheme, t);
    int rc = write_seed("jwt", name, -1, header, strlen(header));
    free(header);
    free(t);
    return rc;
}

/* renovation_grant: the declaration housing owns, the event identity
 * checks the dwelling of, and the estimate housing publishes. */
static int renovation_messages(void)
{
    static char *given[] = {"Paul"};
    static char *lines[] = {"8 rue de la Monnaie"};
    Mdv__Journey__V1__PivotIdentity p = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    Mdv__Journey__V1__Address a = MDV__JOURNEY__V1__ADDRESS__INIT;
    Mdv__Gateway__V1__RenovationWorkItem pump = MDV__GATEWAY__V1__RENOVATION_WORK_ITEM__INIT,
                                         walls = MDV__GATEWAY__V1__RENOVATION_WORK_ITEM__INIT;
    Mdv__Gateway__V1__RenovationWorkItem *items[] = {&pump, &walls};
    Mdv__Gateway__V1__RenovationGrantDeclaration r =
        MDV__GATEWAY__V1__RENOVATION_GRANT_DECLARATION__INIT;
    Mdv__Gateway__V1__DeclarationSubmitted d = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__INIT;
    Mdv__Housing__V1__RenovationGrantRequested q =
        MDV__HOUSING__V1__RENOVATION_GRANT_REQUESTED__INIT;
    Mdv__Housing__V1__WorkItemEstimate e1 = MDV__HOUSING__V1__WORK_ITEM_ESTIMATE__INIT,
                                       e2 = MDV__HOUSING__V1__WORK_ITEM_ESTIMATE__INIT;
    Mdv__Housing__V1__WorkItemEstimate *estimates[] = {&e1, &e2};
    Mdv__Housing__V1__RenovationGrantEstimated est =
        MDV__HOUSING__V1__RENOVATION_GRANT_ESTIMATED__INIT;

    p.family_name = "Bernard";
    p.n_given_names = 1;
    p.given_names = given;
    p.sex = "M";
    p.birth_date = "1972-02-14";
    p.birth_place = "35238";
    a.n_lines = 1;
    a.lines = lines;
    a.postal_code = "35000";
    a.commune_code = "35238";
    a.city = "Rennes";
    pump.code = "air_water_heat_pump";
    pump.cost_eur = 12000;
    walls.code = "external_wall_insulation";
    walls.surface_m2 = 60;
    walls.cost_eur = 9000;
    r.person = &p;
    r.dwelling = &a;
    r.construction_year = 1978;
    r.main_residence = 1;
    r.owner_occupier = 1;
    r.household_size = 2;
    r.reference_tax_income_eur = 30000;
    r.n_items = 2;
    r.items = items;
    d.journey_id = JOURNEY;
    d.usager_id = "usager-1";
    d.kind = "renovation_grant";
    d.submitted_at = "2026-10-04T09:12:00Z";
    d.body_case = MDV__GATEWAY__V1__DECLARATION_SUBMITTED__BODY_RENOVATION_GRANT;
    d.renovation_grant = &r;
    q.journey_id = JOURNEY;
    q.person = &p;
    q.dwelling = &a;
    q.requested_at = "2026-10-04T09:12:01Z";
    e1.code = "air_water_heat_pump";
    e1.cost_eur = e1.eligible_eur = e1.cap_eur = 12000;
    e1.amount_eur = 4000;
    e2.code = "external_wall_insulation";
    e2.cost_eur = e2.eligible_eur = e2.cap_eur = 9000;
    e2.amount_eur = 3600;
    est.journey_id = JOURNEY;
    est.person = &p;
    est.file_number = "MPR-2026-1A2B3C4D";
    est.category = "jaune";
    est.n_items = 2;
    est.items = estimates;
    est.total_eur = 7600;
    est.estimated_at = "2026-10-04T09:12:01Z";
    return write_message("housing-declaration", 19, &d.base) |
           write_message("renovation-requested", 20, &q.base) |
           write_message("renovation-estimated", 21, &est.base);
}

/* student_grant: the event identity checks the student's title for, and
 * the decision student publishes. */
static int grant_messages(void)
{
    static char *given[] = {"Léa"};
    Mdv__Journey__V1__PivotIdentity p = identity("Petit", given, 1, "F", "2006-05-14", "69123");
    Mdv__Student__V1__StudentGrantRequested q = MDV__STUDENT__V1__STUDENT_GRANT_REQUESTED__INIT;
    Mdv__Student__V1__StudentGrantDecided dec = MDV__STUDENT__V1__STUDENT_GRANT_DECIDED__INIT;
    q.journey_id = JOURNEY;
    q.person = &p;
    q.academic_year = "2025-2026";
    q.requested_at = "2026-10-04T09:12:01Z";
    dec.journey_id = JOURNEY;
    dec.person = &p;
    dec.academic_year = "2025-2026";
    dec.echelon = "4";
    dec.annual_amount_eur = 4587;
    dec.points_de_charge = 3;
    dec.reason = "initial";
    dec.grant_journey_id = JOURNEY;
    dec.decided_at = "2026-10-04T09:12:01Z";
    return write_message("grant-requested", 22, &q.base) |
           write_message("grant-decided", 23, &dec.base);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz-seeds CORPUS_DIR KEYS_DIR\n");
        return 2;
    }
    corpus = argv[1];
    int rc = declarations() | confirmations() | deaths() | plans() | steps() | added() |
             identity_messages() | abroad_messages() | renovation_messages() | grant_messages();
    rc |= token(argv[2], "token", "Bearer", "mdv");
    rc |= token(argv[2], "token-lower-scheme", "bearer", "mdv");
    rc |= token(argv[2], "token-other-audience", "Bearer", "other");
    return rc ? 1 : 0;
}
