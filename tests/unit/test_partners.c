/* Unit tests of the partners service's rules and projections, without a
 * server: the entitlements as shipped (services/partners/rules), the walk
 * of every projection's protobuf descriptor against the fields its
 * entitlement lists, a wrong rules file refused with its file and line,
 * a projection built field by field, a webhook partner's body, and the
 * webhooks' retry schedule. */
#include "unit.h"

#include "../../services/partners/partners.h"
#include "mdv/bereavement/v1/death.pb-c.h"
#include "mdv/util.h"

#define DEATH_RECORDED "fr.gouv.mdv.bereavement.death_recorded.v1"

static const struct partners_entitlement *entitlement_of(const struct partners_rules *rules,
                                                         const char *partner, const char *event)
{
    for (size_t i = 0; i < rules->n_entitlements; i++)
        if (strcmp(rules->entitlements[i].partner->id, partner) == 0 &&
            strcmp(rules->entitlements[i].event, event) == 0)
            return &rules->entitlements[i];
    return NULL;
}

static int listed(const struct partners_entitlement *e, const char *field)
{
    for (size_t i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i], field) == 0)
            return 1;
    return 0;
}

static void test_cnav_and_dgfip_are_entitled_to_a_death_with_a_legal_basis(void **state)
{
    char err[512] = "";
    (void)state;
    struct partners_rules *rules = partners_rules_load(MDV_TEST_PARTNERS_RULES, err, sizeof(err));
    if (!rules)
        fail_msg("%s", err);
    const struct partners_entitlement *cnav = entitlement_of(rules, "cnav", DEATH_RECORDED);
    const struct partners_entitlement *dgfip = entitlement_of(rules, "dgfip", DEATH_RECORDED);
    assert_non_null(cnav);
    assert_non_null(dgfip);
    assert_string_equal(cnav->step, "cnav.death_notified");
    assert_string_equal(dgfip->step, "dgfip.death_notified");
    assert_string_equal(cnav->partner->group, "mdv.partner.cnav.main");
    assert_string_equal(dgfip->partner->group, "mdv.partner.dgfip.main");
    for (size_t i = 0; i < rules->n_entitlements; i++) {
        assert_true(strlen(rules->entitlements[i].basis) > 20);
        assert_true(strlen(rules->entitlements[i].label) > 0);
    }
    /* What a réversion claim needs is not what the tax file needs. */
    assert_true(listed(cnav, "sex"));
    assert_false(listed(dgfip, "sex"));
    partners_rules_free(rules);
}

/* The walk DESIGN.md §11 asks for: every field a projection can carry is
 * listed by its entitlement, every listed field is one it carries, none
 * is a nested message (which would pass a part of the event through
 * whole), none could hold a NIR, and no projection is left without an
 * entitlement. */
static void test_every_projection_carries_exactly_the_fields_its_entitlement_lists(void **state)
{
    char err[512] = "";
    int failures = 0;
    (void)state;
    struct partners_rules *rules = partners_rules_load(MDV_TEST_PARTNERS_RULES, err, sizeof(err));
    if (!rules)
        fail_msg("%s", err);
    for (size_t p = 0; partners_projections[p]; p++) {
        const ProtobufCMessageDescriptor *d = partners_projections[p]->descriptor;
        const struct partners_entitlement *e = NULL;
        for (size_t i = 0; i < rules->n_entitlements; i++)
            if (rules->entitlements[i].projection == partners_projections[p])
                e = &rules->entitlements[i];
        if (!e) {
            ROW_FAILED(failures, "%s: no entitlement lists this projection", d->name);
            continue;
        }
        for (unsigned f = 0; f < d->n_fields; f++) {
            const char *name = d->fields[f].name;
            if (!listed(e, name))
                ROW_FAILED(failures, "%s carries %s, which %s's entitlement does not list", d->name,
                           name, e->partner->id);
            if (d->fields[f].type == PROTOBUF_C_TYPE_MESSAGE)
                ROW_FAILED(failures, "%s.%s is a nested message", d->name, name);
            if (strstr(name, "nir") || strstr(name, "securite_sociale"))
                ROW_FAILED(failures, "%s.%s could hold a NIR", d->name, name);
        }
        for (size_t i = 0; i < e->n_fields; i++)
            if (!protobuf_c_message_descriptor_get_field_by_name(d, e->fields[i]))
                ROW_FAILED(failures, "%s's entitlement lists %s, which %s cannot carry",
                           e->partner->id, e->fields[i], d->name);
    }
    partners_rules_free(rules);
    assert_int_equal(failures, 0);
}

static const char *const good_cnav[] = {
    "cnav",
    DEATH_RECORDED,
    "mdv.partner.v1.CnavDeathNotice",
    "journey_id,family_name,given_names,sex,birth_date,birth_place,death_date",
    "mandatory",
    "cnav.death_notified",
    "Signalement du décès",
    "30",
    "Code de la sécurité sociale, art. L353-1",
};

struct bad_line {
    int column;        /* replaced in good_cnav, or -1 for none */
    const char *value; /* the replacement, or the whole line when column is -1 */
    const char *why;   /* expected after "entitlements.tsv:<line>: " */
};

static void write_rules(const char *dir, const struct bad_line *row)
{
    char *path = mdv_xasprintf("%s/partners.tsv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# a comment\ncnav\tCNAV\tkafka\tmdv.partner.cnav.main\n");
    fclose(f);
    free(path);
    path = mdv_xasprintf("%s/entitlements.tsv", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# line 1 is a comment, line 2 blank\n\n");
    if (row->column < 0)
        fprintf(f, "%s\n", row->value);
    else
        for (int c = 0; c < 9; c++)
            fprintf(f, "%s%s", c == row->column ? row->value : good_cnav[c], c < 8 ? "\t" : "\n");
    fclose(f);
    free(path);
}

static void test_a_wrong_entitlement_stops_the_service_naming_file_and_line(void **state)
{
    static const struct bad_line rows[] = {
        {3, "journey_id,family_name,given_names,sex,birth_date,birth_place,death_date,death_place",
         "field death_place: the projection has no such field"},
        {3, "journey_id,family_name,given_names,birth_date,birth_place,death_date",
         "the projection carries field sex, which is not listed"},
        {3, "journey_id,nir,family_name", "field nir: no NIR is ever sent to a partner"},
        {3, "journey_id,journey_id", "field journey_id listed twice"},
        {0, "caf", "partner caf is not in partners.tsv"},
        {1, "fr.gouv.mdv.identity.address_changed.v1",
         "event fr.gouv.mdv.identity.address_changed.v1: the projection is not built from it"},
        {2, "mdv.partner.v1.Whole", "projection mdv.partner.v1.Whole: no such message"},
        {4, "sometimes", "'sometimes': want mandatory or optional"},
        {5, "dgfip.death_notified", "step dgfip.death_notified: want <partner>.<what>"},
        {7, "trente", "due_days 'trente': want a whole number of days"},
        {8, "", "a label and a legal basis are required"},
        {-1, "cnav\tonly three", "want 9 tab-separated columns"},
    };
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char dir[] = "/tmp/mdv-partners-rules-XXXXXX", err[512] = "";
        assert_non_null(mkdtemp(dir));
        write_rules(dir, &rows[i]);
        struct partners_rules *rules = partners_rules_load(dir, err, sizeof(err));
        char *want = mdv_xasprintf("%s/entitlements.tsv:3: %s", dir, rows[i].why);
        if (rules || strncmp(err, want, strlen(want)) != 0)
            ROW_FAILED(failures, "row %zu: got \"%s\", want \"%s\"", i, rules ? "(loaded)" : err,
                       want);
        partners_rules_free(rules);
        free(want);
        char *cmd = mdv_xasprintf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        free(cmd);
    }
    assert_int_equal(failures, 0);
}

static void test_the_good_line_of_the_table_loads(void **state)
{
    char dir[] = "/tmp/mdv-partners-rules-XXXXXX", err[512] = "";
    const struct bad_line none = {99, "", ""};
    (void)state;
    assert_non_null(mkdtemp(dir));
    write_rules(dir, &none);
    struct partners_rules *rules = partners_rules_load(dir, err, sizeof(err));
    if (!rules)
        fail_msg("%s", err);
    assert_int_equal(rules->n_entitlements, 1);
    partners_rules_free(rules);
    char *cmd = mdv_xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* The CNAV's notice, packed as the relay sends it, reads back as what the
 * death said, field by field; the DGFiP's carries no sex. */
static void test_projections_are_built_field_by_field_from_the_death(void **state)
{
    char *given[] = {"Jeanne", "Marie"};
    Mdv__Journey__V1__PivotIdentity p = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    Mdv__Bereavement__V1__DeathRecorded death = MDV__BEREAVEMENT__V1__DEATH_RECORDED__INIT;
    union partners_message out;
    uint8_t buf[512];
    (void)state;
    p.family_name = "MARTIN";
    p.n_given_names = 2;
    p.given_names = given;
    p.sex = "F";
    p.birth_date = "1948-03-02";
    p.birth_place = "75056";
    death.journey_id = "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7";
    death.deceased = &p;
    death.death_date = "2026-11-20";
    death.death_place = "69123";
    death.recorded_at = "2026-11-21T10:00:00Z";

    partners_projection_find("mdv.partner.v1.CnavDeathNotice")->build(&death, &out);
    size_t len = protobuf_c_message_pack(&out.base, buf);
    Mdv__Partner__V1__CnavDeathNotice *cnav =
        mdv__partner__v1__cnav_death_notice__unpack(NULL, len, buf);
    assert_non_null(cnav);
    assert_string_equal(cnav->journey_id, death.journey_id);
    assert_string_equal(cnav->family_name, "MARTIN");
    assert_int_equal(cnav->n_given_names, 2);
    assert_string_equal(cnav->given_names[1], "Marie");
    assert_string_equal(cnav->sex, "F");
    assert_string_equal(cnav->birth_date, "1948-03-02");
    assert_string_equal(cnav->birth_place, "75056");
    assert_string_equal(cnav->death_date, "2026-11-20");
    mdv__partner__v1__cnav_death_notice__free_unpacked(cnav, NULL);

    partners_projection_find("mdv.partner.v1.DgfipDeathNotice")->build(&death, &out);
    len = protobuf_c_message_pack(&out.base, buf);
    Mdv__Partner__V1__DgfipDeathNotice *dgfip =
        mdv__partner__v1__dgfip_death_notice__unpack(NULL, len, buf);
    assert_non_null(dgfip);
    assert_string_equal(dgfip->family_name, "MARTIN");
    assert_string_equal(dgfip->death_date, "2026-11-20");
    /* Nothing of the death's place or time reached it: the bytes hold the
     * six fields and not a seventh. */
    assert_int_equal(protobuf_c_message_get_packed_size(&dgfip->base), len);
    assert_null(memmem(buf, len, "69123", 5));
    assert_null(memmem(buf, len, "2026-11-21", 10));
    mdv__partner__v1__dgfip_death_notice__free_unpacked(dgfip, NULL);
}

static void test_caf_and_cpam_are_webhook_partners_entitled_to_a_death(void **state)
{
    char err[512] = "";
    (void)state;
    struct partners_rules *rules = partners_rules_load(MDV_TEST_PARTNERS_RULES, err, sizeof(err));
    if (!rules)
        fail_msg("%s", err);
    const struct partners_entitlement *caf = entitlement_of(rules, "caf", DEATH_RECORDED);
    const struct partners_entitlement *cpam = entitlement_of(rules, "cpam", DEATH_RECORDED);
    assert_non_null(caf);
    assert_non_null(cpam);
    assert_string_equal(caf->step, "caf.death_notified");
    assert_string_equal(cpam->step, "cpam.death_notified");
    assert_true(caf->partner->webhook);
    assert_true(cpam->partner->webhook);
    assert_string_equal(caf->partner->group, "-");
    assert_true(caf->mandatory && cpam->mandatory);
    /* The capital décès goes by the insured's file, which needs the sex;
     * the CAF's allocataire file does not. */
    assert_true(listed(cpam, "sex"));
    assert_false(listed(caf, "sex"));
    assert_false(entitlement_of(rules, "cnav", DEATH_RECORDED)->partner->webhook);
    partners_rules_free(rules);
}

/* partners.tsv: a webhook partner names no group, a channel is one of two. */
static void test_a_wrong_partner_line_is_refused(void **state)
{
    static const struct {
        const char *line, *why;
    } rows[] = {
        {"caf\tCAF\twebhook\tmdv.partner.caf.main", "group 'mdv.partner.caf.main': a webhook"},
        {"caf\tCAF\tmail\t-", "channel 'mail': want kafka or webhook"},
        {"cnav\tCNAV\tkafka\t-", "group '-': want one under mdv.partner.<partner>."},
    };
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < MDV_ARRAY_LEN(rows); i++) {
        char dir[] = "/tmp/mdv-partners-rules-XXXXXX", err[512] = "";
        assert_non_null(mkdtemp(dir));
        char *path = mdv_xasprintf("%s/partners.tsv", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "%s\n", rows[i].line);
        fclose(f);
        struct partners_rules *rules = partners_rules_load(dir, err, sizeof(err));
        char *want = mdv_xasprintf("%s:1: %s", path, rows[i].why);
        if (rules || strncmp(err, want, strlen(want)) != 0)
            ROW_FAILED(failures, "row %zu: got \"%s\", want \"%s\"", i, rules ? "(loaded)" : err,
                       want);
        partners_rules_free(rules);
        free(want);
        free(path);
        char *cmd = mdv_xasprintf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        free(cmd);
    }
    assert_int_equal(failures, 0);
}

/* The body a webhook partner gets: its projection's fields and no other,
 * as JSON under type, timestamp and data. */
static void test_a_webhook_body_is_exactly_the_projection_as_json(void **state)
{
    char *given[] = {"Jeanne", "Marie"};
    Mdv__Journey__V1__PivotIdentity p = MDV__JOURNEY__V1__PIVOT_IDENTITY__INIT;
    Mdv__Bereavement__V1__DeathRecorded death = MDV__BEREAVEMENT__V1__DEATH_RECORDED__INIT;
    union partners_message out;
    json_error_t jerr;
    (void)state;
    p.family_name = "MARTIN";
    p.n_given_names = 2;
    p.given_names = given;
    p.sex = "F";
    p.birth_date = "1948-03-02";
    p.birth_place = "75056";
    death.journey_id = "6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7";
    death.deceased = &p;
    death.death_date = "2026-11-20";
    death.death_place = "69123";
    death.recorded_at = "2026-11-21T10:00:00Z";
    const struct partners_projection *caf =
        partners_projection_find("mdv.partner.v1.CafDeathNotice");
    assert_non_null(caf);
    caf->build(&death, &out);
    char *body = partners_delivery_body(&out.base, "fr.gouv.mdv.partners.caf_death_notice.v1",
                                        "2026-11-21T10:00:01Z");
    assert_non_null(body);
    json_t *doc = json_loads(body, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_object_size(doc), 3);
    assert_string_equal(json_string_value(json_object_get(doc, "type")),
                        "fr.gouv.mdv.partners.caf_death_notice.v1");
    assert_string_equal(json_string_value(json_object_get(doc, "timestamp")),
                        "2026-11-21T10:00:01Z");
    json_t *data = json_object_get(doc, "data");
    assert_int_equal(json_object_size(data), caf->descriptor->n_fields);
    for (unsigned i = 0; i < caf->descriptor->n_fields; i++)
        assert_non_null(json_object_get(data, caf->descriptor->fields[i].name));
    assert_string_equal(json_string_value(json_object_get(data, "family_name")), "MARTIN");
    assert_string_equal(json_string_value(json_array_get(json_object_get(data, "given_names"), 1)),
                        "Marie");
    assert_null(json_object_get(data, "sex"));
    assert_null(strstr(body, "69123"));
    json_decref(doc);
    free(body);
}

static void test_the_backoff_doubles_with_jitter_up_to_its_cap(void **state)
{
    const struct partners_schedule s = {8, 1000, 10000, 5000, 60};
    (void)state;
    /* Half fixed, half random: attempt 1 waits 0.5 to 1 s, 2 waits 1 to 2 s... */
    assert_int_equal(partners_backoff_ms(&s, 1, 0), 500);
    assert_in_range(partners_backoff_ms(&s, 1, 0.999), 999, 1000);
    assert_int_equal(partners_backoff_ms(&s, 2, 0), 1000);
    assert_int_equal(partners_backoff_ms(&s, 3, 0.5), 3000);
    /* 8 to 16 s capped at 10 s; then 10 s, whatever the attempt. */
    assert_int_equal(partners_backoff_ms(&s, 5, 0), 8000);
    assert_in_range(partners_backoff_ms(&s, 5, 0.999), 9990, 10000);
    assert_int_equal(partners_backoff_ms(&s, 40, 0), 10000);
    assert_int_equal(partners_backoff_ms(&s, 40, 0.999), 10000);
    for (long n = 1; n < 8; n++)
        assert_true(partners_backoff_ms(&s, n + 1, 0) >= partners_backoff_ms(&s, n, 0.999));
}

static void test_retry_after_is_read_as_seconds_or_an_http_date(void **state)
{
    const struct partners_schedule s = {8, 1000, 600000, 5000, 60};
    const time_t at = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
    (void)state;
    assert_int_equal(partners_retry_after_ms(&s, "120", at), 120000);
    assert_int_equal(partners_retry_after_ms(&s, " 3 ", at), 3000);
    assert_int_equal(partners_retry_after_ms(&s, "Wed, 21 Oct 2015 07:28:00 GMT", at - 30), 30000);
    assert_int_equal(partners_retry_after_ms(&s, "Wed, 21 Oct 2015 07:28:00 GMT", at + 5), 0);
    assert_int_equal(partners_retry_after_ms(&s, "99999999", at), 600000);
    assert_int_equal(partners_retry_after_ms(&s, "soon", at), -1);
    assert_int_equal(partners_retry_after_ms(&s, "12s", at), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnav_and_dgfip_are_entitled_to_a_death_with_a_legal_basis),
        cmocka_unit_test(test_every_projection_carries_exactly_the_fields_its_entitlement_lists),
        cmocka_unit_test(test_a_wrong_entitlement_stops_the_service_naming_file_and_line),
        cmocka_unit_test(test_the_good_line_of_the_table_loads),
        cmocka_unit_test(test_projections_are_built_field_by_field_from_the_death),
        cmocka_unit_test(test_caf_and_cpam_are_webhook_partners_entitled_to_a_death),
        cmocka_unit_test(test_a_wrong_partner_line_is_refused),
        cmocka_unit_test(test_a_webhook_body_is_exactly_the_projection_as_json),
        cmocka_unit_test(test_the_backoff_doubles_with_jitter_up_to_its_cap),
        cmocka_unit_test(test_retry_after_is_read_as_seconds_or_an_http_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
