/* mdv-topics: creates Kafka topics, lists the broker's topics and creates
 * its ACLs (topics_acls.c) through librdkafka's Admin API, so that the local
 * stack needs no Kafka command-line tool (Maven Central lacks kafka-tools for
 * some broker releases). Creating is idempotent: a topic that already exists
 * counts as done and is left as it is. Listing doubles as the stack's
 * readiness probe: it succeeds only once the broker answers a metadata
 * request. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/kafka.h"
#include "mdv/log.h"
#include "mdv/util.h"
#include "topics.h"

#define DEFAULT_PARTITIONS 6L
#define DEFAULT_REPLICATION 1L
#define DEFAULT_TIMEOUT_MS 30000L
#define MAX_TIMEOUT_MS 3600000L
/* librdkafka always delivers a result event, a timeout error at worst: the
 * margin only keeps a lost event from hanging us. */
#define POLL_MARGIN_MS 2000

struct options {
    const char *brokers;
    long partitions;
    long replication;
    long timeout_ms;
    int list;
    const char *acls; /* an ACL file to apply, or NULL */
    char **topics;    /* argv's, not copied */
    size_t topic_count;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mdv-topics --brokers HOST:PORT [--partitions N] [--replication N]\n"
            "                  [--timeout-ms MS] TOPIC...\n"
            "       mdv-topics --brokers HOST:PORT [--timeout-ms MS] --list\n"
            "       mdv-topics --brokers HOST:PORT [--timeout-ms MS] --acls FILE\n"
            "\n"
            "Creates each TOPIC the broker lacks (one that exists is left as it is)\n"
            "and prints \"TOPIC created\" or \"TOPIC exists\"; or, with --list,\n"
            "prints every topic of the broker as \"TOPIC PARTITIONS\", sorted; or,\n"
            "with --acls, creates the access control lists FILE lists (one\n"
            "\"principals operations topic|group literal|prefixed NAME\" a line).\n"
            "Any MDV_KAFKA_<PROPERTY> variable is passed to librdkafka.\n"
            "\n"
            "  --brokers HOST:PORT  bootstrap servers; default MDV_KAFKA_BROKERS\n"
            "  --partitions N       partitions of a new topic, default %ld\n"
            "  --replication N      replication factor of a new topic, default %ld\n"
            "  --timeout-ms MS      how long to wait for the broker, default %ld\n"
            "  --list               list the topics instead\n"
            "  --acls FILE          create the ACLs of FILE instead\n"
            "  --help               this text\n"
            "\n"
            "Exit status: 0 done, 1 the broker refused or did not answer, 2 usage.\n",
            DEFAULT_PARTITIONS, DEFAULT_REPLICATION, DEFAULT_TIMEOUT_MS);
}

/* A whole number from 1 to max, nothing after it. */
static int parse_positive(const char *text, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int number_option(const char *name, const char *text, long max, long *out)
{
    if (parse_positive(text, max, out) == 0)
        return 0;
    fprintf(stderr, "mdv-topics: %s wants a whole number from 1 to %ld, not '%s'\n", name, max,
            text);
    return -1;
}

/* Returns 0 to go on, 1 when --help was asked, -1 on a usage error. */
static int parse_args(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"partitions", required_argument, NULL, 'p'},
        {"replication", required_argument, NULL, 'r'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"list", no_argument, NULL, 'l'},
        {"acls", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, bad = 0;

    while (!bad && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'b')
            opt->brokers = optarg;
        else if (c == 'p')
            bad = number_option("--partitions", optarg, 100000, &opt->partitions);
        else if (c == 'r')
            bad = number_option("--replication", optarg, 1000, &opt->replication);
        else if (c == 't')
            bad = number_option("--timeout-ms", optarg, MAX_TIMEOUT_MS, &opt->timeout_ms);
        else if (c == 'l')
            opt->list = 1;
        else if (c == 'a')
            opt->acls = optarg;
        else if (c == 'h')
            return 1;
        else
            return -1;
    }
    if (bad)
        return -1;
    opt->topics = argv + optind;
    opt->topic_count = (size_t)(argc - optind);
    if ((opt->list || opt->acls) && opt->topic_count > 0) {
        fprintf(stderr, "mdv-topics: --list and --acls take no topic names\n");
        return -1;
    }
    if (opt->list && opt->acls) {
        fprintf(stderr, "mdv-topics: --list or --acls, not both\n");
        return -1;
    }
    if (!opt->list && !opt->acls && opt->topic_count == 0) {
        fprintf(stderr, "mdv-topics: name at least one topic, or --list, or --acls FILE\n");
        return -1;
    }
    if (!opt->brokers)
        opt->brokers = getenv("MDV_KAFKA_BROKERS");
    if (!opt->brokers || !*opt->brokers) {
        fprintf(stderr, "mdv-topics: --brokers is required (or MDV_KAFKA_BROKERS)\n");
        return -1;
    }
    return 0;
}

/* --- Listing --------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    const rd_kafka_metadata_topic_t *const *x = a, *const *y = b;
    return strcmp((*x)->topic, (*y)->topic);
}

/* Prints what the broker holds; fails while no broker answers. */
static int list_topics(rd_kafka_t *rk, const struct options *opt)
{
    const struct rd_kafka_metadata *md = NULL;
    const rd_kafka_metadata_topic_t **sorted = NULL;
    int rc = -1;

    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, (int)opt->timeout_ms);
    if (err) {
        fprintf(stderr, "mdv-topics: no metadata from %s within %ld ms: %s\n", opt->brokers,
                opt->timeout_ms, rd_kafka_err2str(err));
        return -1;
    }
    if (md->broker_cnt == 0) {
        fprintf(stderr, "mdv-topics: %s answered with no broker yet\n", opt->brokers);
        goto out;
    }
    sorted = mdv_xcalloc(md->topic_cnt ? (size_t)md->topic_cnt : 1, sizeof(*sorted));
    for (int i = 0; i < md->topic_cnt; i++)
        sorted[i] = &md->topics[i];
    qsort(sorted, (size_t)md->topic_cnt, sizeof(*sorted), by_name);
    for (int i = 0; i < md->topic_cnt; i++)
        printf("%s %d\n", sorted[i]->topic, sorted[i]->partition_cnt);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "mdv-topics: cannot write the list: %s\n", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(sorted);
    rd_kafka_metadata_destroy(md);
    return rc;
}

/* --- Creating -------------------------------------------------------------- */

/* Prints each topic's outcome; -1 when any topic failed for another reason
 * than already existing. */
static int report_created(const rd_kafka_CreateTopics_result_t *result)
{
    size_t n = 0;
    const rd_kafka_topic_result_t **topics = rd_kafka_CreateTopics_result_topics(result, &n);
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        const char *name = rd_kafka_topic_result_name(topics[i]);
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(topics[i]);
        const char *why = rd_kafka_topic_result_error_string(topics[i]);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            printf("%s created\n", name);
        } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            printf("%s exists\n", name);
        } else {
            fprintf(stderr, "mdv-topics: cannot create %s: %s (%s)\n", name,
                    why && *why ? why : rd_kafka_err2str(err), rd_kafka_err2name(err));
            rc = -1;
        }
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "mdv-topics: cannot write the outcome: %s\n", strerror(errno));
        rc = -1;
    }
    return rc;
}

/* The broker gets timeout_ms to create the topics; we wait a second longer
 * for its answer, so that a slow creation reports the broker's own error. */
static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk, long timeout_ms)
{
    char errstr[512];
    rd_kafka_AdminOptions_t *admin = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (rd_kafka_AdminOptions_set_operation_timeout(admin, (int)timeout_ms, errstr,
                                                    sizeof(errstr)) != 0 ||
        rd_kafka_AdminOptions_set_request_timeout(admin, (int)timeout_ms + 1000, errstr,
                                                  sizeof(errstr)) != 0) {
        fprintf(stderr, "mdv-topics: admin options: %s\n", errstr);
        rd_kafka_AdminOptions_destroy(admin);
        return NULL;
    }
    return admin;
}

/* Sends one CreateTopics request for every topic and waits for the result. */
static int create_topics(rd_kafka_t *rk, const struct options *opt)
{
    char errstr[512];
    size_t n = opt->topic_count, made = 0;
    rd_kafka_NewTopic_t **new_topics = mdv_xcalloc(n, sizeof(*new_topics));
    rd_kafka_AdminOptions_t *admin = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_event_t *event = NULL;
    int rc = -1;

    for (; made < n; made++) {
        new_topics[made] = rd_kafka_NewTopic_new(opt->topics[made], (int)opt->partitions,
                                                 (int)opt->replication, errstr, sizeof(errstr));
        if (!new_topics[made]) {
            fprintf(stderr, "mdv-topics: topic '%s': %s\n", opt->topics[made], errstr);
            goto out;
        }
    }
    admin = admin_options(rk, opt->timeout_ms);
    if (!admin)
        goto out;
    queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, new_topics, n, admin, queue);
    event = rd_kafka_queue_poll(queue, (int)opt->timeout_ms + 1000 + POLL_MARGIN_MS);
    if (!event) {
        fprintf(stderr, "mdv-topics: no answer from %s within %ld ms\n", opt->brokers,
                opt->timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(event)) {
        fprintf(stderr, "mdv-topics: creating topics on %s: %s\n", opt->brokers,
                rd_kafka_event_error_string(event));
        goto out;
    }
    const rd_kafka_CreateTopics_result_t *result = rd_kafka_event_CreateTopics_result(event);
    if (!result) {
        fprintf(stderr, "mdv-topics: unexpected event %s\n", rd_kafka_event_name(event));
        goto out;
    }
    rc = report_created(result);
out:
    if (event)
        rd_kafka_event_destroy(event);
    if (queue)
        rd_kafka_queue_destroy(queue);
    if (admin)
        rd_kafka_AdminOptions_destroy(admin);
    rd_kafka_NewTopic_destroy_array(new_topics, made);
    free(new_topics);
    return rc;
}

int main(int argc, char **argv)
{
    struct options opt = {
        .partitions = DEFAULT_PARTITIONS,
        .replication = DEFAULT_REPLICATION,
        .timeout_ms = DEFAULT_TIMEOUT_MS,
    };

    mdv_log_init("topics", MDV_LOG_WARN);
    int parsed = parse_args(argc, argv, &opt);
    if (parsed != 0) {
        if (parsed > 0) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "usage: mdv-topics --brokers HOST:PORT [options] TOPIC... | --list "
                        "(see --help)\n");
        return 2;
    }

    rd_kafka_t *rk = mdv_kafka_admin_new(opt.brokers);
    if (!rk) {
        fprintf(stderr, "mdv-topics: cannot make a Kafka client for %s (see the log above)\n",
                opt.brokers);
        return 1;
    }
    int rc = opt.list   ? list_topics(rk, &opt)
             : opt.acls ? mdv_topics_apply_acls(rk, opt.acls, opt.timeout_ms)
                        : create_topics(rk, &opt);
    rd_kafka_destroy(rk);
    return rc == 0 ? 0 : 1;
}
