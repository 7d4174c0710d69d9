/* librdkafka's in-process mock cluster (rdkafka_mock.h, in 2.0.2): a
 * broker inside the test process, so the Kafka adapters can be exercised
 * without a server. */
#ifndef MDV_TESTS_MOCK_KAFKA_H
#define MDV_TESTS_MOCK_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "unit.h"

extern char **environ;

struct mock_kafka {
    rd_kafka_t *holder; /* the handle the mock cluster lives in */
    rd_kafka_mock_cluster_t *mcluster;
    const char *bootstraps;
};

static inline void mock_kafka_start(struct mock_kafka *mk)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    mk->holder = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(mk->holder);
    mk->mcluster = rd_kafka_mock_cluster_new(mk->holder, 1);
    assert_non_null(mk->mcluster);
    mk->bootstraps = rd_kafka_mock_cluster_bootstraps(mk->mcluster);
}

static inline void mock_kafka_stop(struct mock_kafka *mk)
{
    rd_kafka_mock_cluster_destroy(mk->mcluster);
    rd_kafka_destroy(mk->holder);
}

/* Removes every MDV_KAFKA_* variable, so the machine's environment cannot
 * change the clients the tests create. */
static inline void unset_kafka_environment(void)
{
    for (;;) {
        char name[256] = "";
        for (char **env = environ; *env; env++) {
            size_t n = strcspn(*env, "=");
            if (strncmp(*env, "MDV_KAFKA_", 10) == 0 && n < sizeof(name)) {
                memcpy(name, *env, n);
                name[n] = '\0';
                break;
            }
        }
        if (!name[0])
            return;
        unsetenv(name);
    }
}

#endif
