/* mdv-simulator: plays one partner on Kafka for the local stack, as a
 * partner's engineer would write it. It consumes the partner's topic with
 * the partner's certificate (the MDV_KAFKA_* variables) in the group that
 * rules/partners.tsv names, reports an outcome for each notice on the
 * partner's outcomes topic (a PartnerOutcome with CloudEvents headers; the
 * notice's ce_id is the idempotency key, so a notice read twice reports
 * once), and only then stores the offset: its group's commits are what
 * the journey shows as the partner's receipt. When a report fails, or a
 * client is in a fatal state (librdkafka 2.0.2 after a broker restart: a
 * fenced static member, an idempotent producer's lost sequence), both
 * clients are made again and consumption resumes from the committed
 * offsets: the same report may go twice, and counts once.
 *
 *   mdv-simulator --partner cnav --group mdv.partner.cnav.main [--delay-ms N]
 *
 * Environment: MDV_KAFKA_BROKERS (required) and MDV_KAFKA_*. Stops on
 * SIGTERM or SIGINT. A webhook partner is played by the same tool
 * (simulator_webhook.c):
 *
 *   mdv-simulator --partner caf --listen 127.0.0.1:PORT --api URL
 *                 --token-file FILE [--url ENDPOINT] [--delay-ms N]
 *
 * --url is the endpoint it registers when the address it listens on is not
 * the one the partners service reaches (a container listening on 0.0.0.0,
 * reached by its name). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/events.h"
#include "mdv/kafka.h"
#include "mdv/log.h"
#include "mdv/partner/v1/partner.pb-c.h"
#include "mdv/util.h"
#include "simulator.h"

#define PRODUCE_TIMEOUT_MS 30000

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* What each simulated partner says once it dealt with a notice, by the
 * notice's kind: ce_type fr.gouv.mdv.partners.<partner>_<what>_notice.v1
 * is on the step <partner>.<what>_notified. The CNAV's confirmed
 * réversion claims (cnav_survivor_claim) are decided, on their own step
 * (simulator_cnav.c). */
static const struct {
    const char *partner, *what, *detail;
} details[] = {
    {"cnav", "death", "Décès pris en compte par l'Assurance retraite"},
    {"dgfip", "death", "Décès pris en compte par les Finances publiques"},
    {"cnav", "address", "Adresse mise à jour par l'Assurance retraite"},
    {"dgfip", "address", "Adresse mise à jour par les Finances publiques"},
    {"caf", "death", "Décès pris en compte par la Caisse d'allocations familiales"},
    {"cpam", "death", "Décès pris en compte par l'Assurance maladie"},
    {"caf", "address", "Adresse mise à jour par la Caisse d'allocations familiales"},
};

/* The detail of the partner's notices of that kind, or NULL. */
static const char *sim_detail(const char *partner, const char *what)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(details); i++)
        if (strcmp(details[i].partner, partner) == 0 && strcmp(details[i].what, what) == 0)
            return details[i].detail;
    return NULL;
}

#define CLAIM_TYPE "fr.gouv.mdv.partners.cnav_survivor_claim.v1"
#define CLAIM_STEP "cnav.survivor_pension_decided"

struct sim {
    const char *partner, *group, *brokers;
    long delay_ms;
    char *topic, *outcomes;
    rd_kafka_t *consumer, *producer;
};

/* The journey id of a notice: field journey_id of whichever projection. */
static int journey_of(const rd_kafka_message_t *rkm, char out[MDV_UUID_LEN])
{
    static const ProtobufCMessageDescriptor *const notices[] = {
        &mdv__partner__v1__cnav_death_notice__descriptor,
        &mdv__partner__v1__dgfip_death_notice__descriptor,
    };
    char type[MDV_EVENT_FIELD_LEN] = "";
    mdv_event_header(rkm, "ce_type", type, sizeof(type));
    for (size_t i = 0; i < MDV_ARRAY_LEN(notices); i++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(notices[i], "journey_id");
        ProtobufCMessage *m = protobuf_c_message_unpack(notices[i], NULL, rkm->len, rkm->payload);
        if (!m)
            continue;
        const char *id = *(char *const *)((const char *)m + f->offset);
        int ok = mdv_uuid_valid(id);
        if (ok)
            mdv_strlcpy(out, id, MDV_UUID_LEN);
        protobuf_c_message_free_unpacked(m, NULL);
        if (ok)
            return 0;
    }
    mdv_warn("%s: a message of type %s without a journey id: ignored", "simulator", type);
    return -1;
}

/* The detail of the notice's kind, writing its step code into step; NULL
 * for a kind this simulator does not play. */
static const char *detail_of(const struct sim *s, const rd_kafka_message_t *rkm, char *step,
                             size_t len, char *decision, size_t decision_len)
{
    char type[MDV_EVENT_FIELD_LEN] = "";
    mdv_event_header(rkm, "ce_type", type, sizeof(type));
    if (strcmp(s->partner, "cnav") == 0 && strcmp(type, CLAIM_TYPE) == 0) {
        snprintf(step, len, "%s", CLAIM_STEP);
        if (sim_cnav_decide(rkm->payload, rkm->len, decision, decision_len) == 0)
            return decision;
        mdv_warn("a claim that is no CnavSurvivorClaim: not reported");
        return NULL;
    }
    for (size_t i = 0; i < MDV_ARRAY_LEN(details); i++) {
        if (strcmp(details[i].partner, s->partner) != 0)
            continue;
        char *expected =
            mdv_xasprintf("fr.gouv.mdv.partners.%s_%s_notice.v1", s->partner, details[i].what);
        int match = strcmp(type, expected) == 0;
        free(expected);
        if (match) {
            snprintf(step, len, "%s.%s_notified", s->partner, details[i].what);
            return details[i].detail;
        }
    }
    mdv_warn("a notice of type %s, which this simulator does not play: not reported", type);
    return NULL;
}

static int report(struct sim *s, const rd_kafka_message_t *rkm, const char *journey_id)
{
    Mdv__Partner__V1__PartnerOutcome o = MDV__PARTNER__V1__PARTNER_OUTCOME__INIT;
    char ce_id[MDV_EVENT_FIELD_LEN] = "", id[MDV_UUID_LEN], step[128], decision[256];
    const char *detail = detail_of(s, rkm, step, sizeof(step), decision, sizeof(decision));
    if (!detail)
        return 0;
    mdv_event_header(rkm, "ce_id", ce_id, sizeof(ce_id));
    o.journey_id = (char *)journey_id;
    o.step_code = step;
    o.status = "done";
    o.detail = (char *)detail;
    o.idempotency_key = ce_id;
    struct mdv_event_meta meta = {s->partner, "fr.gouv.mdv.partner.outcome_reported.v1", journey_id,
                                  journey_id, ce_id};
    json_t *headers = mdv_event_headers_json(&meta, id);
    size_t len = protobuf_c_message_get_packed_size(&o.base);
    uint8_t *value = mdv_xmalloc(len ? len : 1);
    protobuf_c_message_pack(&o.base, value);
    int rc = mdv_kafka_produce_sync(s->producer, s->outcomes, journey_id, strlen(journey_id), value,
                                    len, mdv_event_headers_from_json(headers), PRODUCE_TIMEOUT_MS);
    free(value);
    json_decref(headers);
    return rc;
}

/* 0 when the notice was reported and its offset stored, -1 when not
 * (read again once the clients are made again). */
static int handle(struct sim *s, rd_kafka_message_t *rkm)
{
    char journey_id[MDV_UUID_LEN];
    if (s->delay_ms > 0)
        mdv_sleep_ms(s->delay_ms);
    if (journey_of(rkm, journey_id) == 0 && report(s, rkm, journey_id) != 0)
        return -1;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, s->topic, rkm->partition)->offset = rkm->offset + 1;
    rd_kafka_offsets_store(s->consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    return 0;
}

static void clients_close(struct sim *s)
{
    if (s->consumer) {
        rd_kafka_consumer_close(s->consumer);
        rd_kafka_destroy(s->consumer);
    }
    if (s->producer) {
        rd_kafka_flush(s->producer, 5000);
        rd_kafka_destroy(s->producer);
    }
    s->consumer = s->producer = NULL;
}

static int clients_open(struct sim *s)
{
    const char *topics[] = {s->topic, NULL};
    char *instance = mdv_xasprintf("%s-simulator", s->partner);
    s->consumer = mdv_kafka_consumer_new(s->brokers, s->group, instance, topics);
    s->producer = mdv_kafka_producer_new(s->brokers);
    free(instance);
    return s->consumer && s->producer ? 0 : -1;
}

static int failed(struct sim *s, const rd_kafka_message_t *rkm)
{
    char errstr[256];
    if (rkm && rkm->err == RD_KAFKA_RESP_ERR__FATAL)
        return 1;
    return rd_kafka_fatal_error(s->consumer, errstr, sizeof(errstr)) ||
           rd_kafka_fatal_error(s->producer, errstr, sizeof(errstr));
}

static int run(struct sim *s)
{
    if (clients_open(s) != 0)
        return 1;
    mdv_info("simulating %s on %s (group %s)", s->partner, s->topic, s->group);
    while (!stop) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(s->consumer, 500);
        int renew = (rkm && !rkm->err && handle(s, rkm) != 0) || failed(s, rkm);
        if (rkm)
            rd_kafka_message_destroy(rkm);
        if (!renew)
            continue;
        mdv_warn("a report failed or a client is in a fatal state: making the clients again");
        clients_close(s);
        mdv_sleep_ms(1000);
        if (clients_open(s) != 0)
            return 1;
    }
    clients_close(s);
    mdv_info("stopped");
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: MDV_KAFKA_BROKERS=... mdv-simulator --partner cnav|dgfip"
                    " --group mdv.partner.<partner>.<name> [--delay-ms N]\n"
                    "       mdv-simulator --partner caf|cpam --listen HOST:PORT --api URL"
                    " --token-file FILE [--url URL] [--delay-ms N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"partner", required_argument, NULL, 'p'},  {"group", required_argument, NULL, 'g'},
        {"delay-ms", required_argument, NULL, 'd'}, {"listen", required_argument, NULL, 'l'},
        {"api", required_argument, NULL, 'a'},      {"token-file", required_argument, NULL, 't'},
        {"url", required_argument, NULL, 'u'},      {NULL, 0, NULL, 0}};
    struct sim s = {0};
    struct sim_webhook w = {0};
    for (int c; (c = getopt_long(argc, argv, "", options, NULL)) != -1;) {
        if (c == 'p')
            s.partner = optarg;
        else if (c == 'g')
            s.group = optarg;
        else if (c == 'd')
            s.delay_ms = atol(optarg);
        else if (c == 'l')
            w.listen = optarg;
        else if (c == 'a')
            w.api = optarg;
        else if (c == 't')
            w.token_file = optarg;
        else if (c == 'u')
            w.url = optarg;
        else
            return usage();
    }
    s.brokers = getenv("MDV_KAFKA_BROKERS");
    int known = 0;
    for (size_t i = 0; s.partner && i < MDV_ARRAY_LEN(details); i++)
        known |= strcmp(details[i].partner, s.partner) == 0;
    w.detail_of = sim_detail;
    if (!known || s.delay_ms < 0)
        return usage();
    mdv_log_init("simulator", MDV_LOG_INFO);
    mdv_log_set_instance(s.partner);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (w.url && !w.listen)
        return usage();
    if (w.listen) {
        if (!w.api || !w.token_file)
            return usage();
        w.partner = s.partner;
        w.delay_ms = s.delay_ms;
        return sim_webhook_run(&w, &stop);
    }
    if (!s.group || !s.brokers || !*s.brokers)
        return usage();
    s.topic = mdv_xasprintf("mdv.partner.%s.v1", s.partner);
    s.outcomes = mdv_xasprintf("mdv.partner.%s.outcomes.v1", s.partner);
    int rc = run(&s);
    free(s.topic);
    free(s.outcomes);
    return rc;
}
