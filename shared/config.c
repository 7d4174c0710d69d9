/* Environment configuration tables and the checks they use. */
#include "mdv/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mdv/batch.h"
#include "mdv/log.h"

static int load_one(const struct mdv_config_var *var)
{
    char err[256] = "";
    const char *value = getenv(var->name);

    if (!value || !*value)
        value = var->default_value;
    if (!value) {
        fprintf(stderr, "configuration: %s is required (%s)\n", var->name, var->help);
        return -1;
    }
    if (var->check && var->check(value, err, sizeof(err)) != 0) {
        fprintf(stderr, "configuration: %s=\"%s\" is invalid: %s\n", var->name, value, err);
        return -1;
    }
    *var->dest = value;
    return 0;
}

int mdv_config_load(const struct mdv_config_var *vars)
{
    int rc = 0;
    /* Report every bad variable at once, not only the first. */
    for (const struct mdv_config_var *v = vars; v->name; v++)
        if (load_one(v) != 0)
            rc = -1;
    return rc;
}

int mdv_config_load_base(struct mdv_base_config *base, const char *service,
                         const struct mdv_config_var *extra)
{
    static char default_instance[128];
    char host[64] = "localhost";
    gethostname(host, sizeof(host) - 1);
    /* Static membership needs an id stable across restarts of one replica:
     * the host name is, in containers (pod or container name). */
    snprintf(default_instance, sizeof(default_instance), "%s-%s", service, host);

    const struct mdv_config_var base_vars[] = {
        {"MDV_KAFKA_BROKERS", NULL, NULL, &base->kafka_brokers, "Kafka bootstrap servers"},
        {"MDV_PG_DSN", NULL, NULL, &base->pg_dsn, "libpq connection string"},
        {"MDV_HTTP_ADDR", "0.0.0.0:8080", mdv_check_host_port, &base->http_addr,
         "HTTP listen address host:port"},
        {"MDV_LOG_LEVEL", "info", mdv_check_log_level, &base->log_level,
         "debug, info, warn or error"},
        {"MDV_INSTANCE_ID", default_instance, NULL, &base->instance_id,
         "static group membership id of this replica"},
        {"MDV_DATA_DIR", NULL, mdv_check_directory, &base->data_dir,
         "folder with the service's migrations/ and rules/"},
        {"MDV_SHUTDOWN_TIMEOUT_MS", "10000", mdv_check_positive_int, &base->shutdown_timeout_ms,
         "bound on a graceful shutdown"},
        {"MDV_CONSUMER_BATCH_SIZE", "256", mdv_check_batch_size, &base->batch_size,
         "most messages applied in one transaction (1: one each)"},
        {"MDV_CONSUMER_BATCH_WAIT_MS", "0", mdv_check_batch_wait_ms, &base->batch_wait_ms,
         "how long a batch waits for more messages after its first"},
        {"MDV_PG_STATEMENT_TIMEOUT_MS", "5000", mdv_check_statement_timeout_ms,
         &base->pg_statement_timeout_ms,
         "statement_timeout of the connections that serve HTTP requests (0: the server's)"},
        {"MDV_PG_POOL_WAIT_MS", "5000", mdv_check_pool_wait_ms, &base->pg_pool_wait_ms,
         "longest an HTTP request waits for a pooled database connection (0: no wait)"},
        {NULL, NULL, NULL, NULL, NULL},
    };
    int rc = mdv_config_load(base_vars);
    if (extra && mdv_config_load(extra) != 0)
        rc = -1;
    return rc;
}

int mdv_check_host_port(const char *value, char *err, size_t errlen)
{
    const char *colon = strrchr(value, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;

    if (!colon || colon == value || !isdigit((unsigned char)colon[1]) || !end || *end || port < 1 ||
        port > 65535) {
        snprintf(err, errlen, "expected host:port with a port from 1 to 65535");
        return -1;
    }
    return 0;
}

int mdv_check_log_level(const char *value, char *err, size_t errlen)
{
    if (mdv_log_parse_level(value) < 0) {
        snprintf(err, errlen, "expected debug, info, warn or error");
        return -1;
    }
    return 0;
}

int mdv_check_directory(const char *value, char *err, size_t errlen)
{
    struct stat st;
    if (stat(value, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "not a directory (%s)", errno ? strerror(errno) : "not a folder");
        return -1;
    }
    return 0;
}

int mdv_check_readable_file(const char *value, char *err, size_t errlen)
{
    if (access(value, R_OK) != 0) {
        snprintf(err, errlen, "cannot read the file: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int mdv_check_positive_int(const char *value, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || !end || *end || n <= 0) {
        snprintf(err, errlen, "expected a positive integer");
        return -1;
    }
    return 0;
}

/* Milliseconds from 0 (meaning what zero says) to an hour. */
static int check_ms_to_an_hour(const char *value, const char *zero, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || !end || end == value || *end || n < 0 || n > 3600000) {
        snprintf(err, errlen, "expected milliseconds from 0 (%s) to 3600000", zero);
        return -1;
    }
    return 0;
}

int mdv_check_statement_timeout_ms(const char *value, char *err, size_t errlen)
{
    return check_ms_to_an_hour(value, "none", err, errlen);
}

int mdv_check_pool_wait_ms(const char *value, char *err, size_t errlen)
{
    return check_ms_to_an_hour(value, "no wait", err, errlen);
}

/* The ceiling is PostgreSQL's default max_connections: a pool larger than
 * the server admits would only turn its last connections into refusals. */
int mdv_check_pool_size(const char *value, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || !isdigit((unsigned char)value[0]) || *end || n < 1 || n > MDV_PG_POOL_SIZE_MAX) {
        snprintf(err, errlen, "expected a number of connections from 1 to %d",
                 MDV_PG_POOL_SIZE_MAX);
        return -1;
    }
    return 0;
}
