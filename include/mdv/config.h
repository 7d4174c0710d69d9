/* Configuration from the environment, declared as a table per service
 * (name, default, check) and validated before anything connects. */
#ifndef MDV_CONFIG_H
#define MDV_CONFIG_H

#include <stddef.h>

#include "mdv/util.h"

/* A check writes why a value is wrong into err and returns -1. */
typedef int (*mdv_config_check)(const char *value, char *err, size_t errlen);

struct mdv_config_var {
    const char *name;          /* environment variable, e.g. MDV_PG_DSN */
    const char *default_value; /* NULL: required */
    mdv_config_check check;    /* NULL: any non-empty value */
    const char **dest;         /* receives the value (environment or default) */
    const char *help;
};

/* Settings every service has (DESIGN.md §7). */
struct mdv_base_config {
    const char *kafka_brokers;
    const char *pg_dsn;
    const char *http_addr;
    const char *log_level;
    const char *instance_id;
    const char *data_dir;
    const char *shutdown_timeout_ms;
    const char *batch_size;              /* MDV_CONSUMER_BATCH_SIZE */
    const char *batch_wait_ms;           /* MDV_CONSUMER_BATCH_WAIT_MS */
    const char *pg_statement_timeout_ms; /* MDV_PG_STATEMENT_TIMEOUT_MS: the HTTP pool's */
    const char *pg_pool_wait_ms;         /* MDV_PG_POOL_WAIT_MS: the HTTP pool's */
};

/* Fills every dest of the table, which ends with a {NULL} entry. On a bad or
 * missing value, prints one message naming the variable and returns -1. */
int mdv_config_load(const struct mdv_config_var *vars) MDV_MUSTCHECK;

/* Loads the base table followed by a service's extra table (may be NULL). */
int mdv_config_load_base(struct mdv_base_config *base, const char *service,
                         const struct mdv_config_var *extra) MDV_MUSTCHECK;

int mdv_check_host_port(const char *value, char *err, size_t errlen);
int mdv_check_log_level(const char *value, char *err, size_t errlen);
int mdv_check_directory(const char *value, char *err, size_t errlen);
int mdv_check_readable_file(const char *value, char *err, size_t errlen);
int mdv_check_positive_int(const char *value, char *err, size_t errlen);
/* 0 (none) to an hour, in milliseconds. */
int mdv_check_statement_timeout_ms(const char *value, char *err, size_t errlen);
/* 0 (no wait) to an hour, in milliseconds. */
int mdv_check_pool_wait_ms(const char *value, char *err, size_t errlen);
/* A pool's connections: 1 to MDV_PG_POOL_SIZE_MAX. */
#define MDV_PG_POOL_SIZE_MAX 100
int mdv_check_pool_size(const char *value, char *err, size_t errlen);

#endif
