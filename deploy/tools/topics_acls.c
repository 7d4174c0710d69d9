/* The broker's access control lists as data (deploy/local/kafka/acls.tsv):
 * each line allows principals some operations on a resource, e.g.
 *
 *     identity   write,describe   topic  literal   mdv.identity.events.v1
 *     cnav       read             group  prefixed  mdv.partner.cnav.
 *
 * Principals and operations are comma-separated lists; a principal is the
 * CN of a client certificate (the broker maps it to User:<CN>). Everything
 * not listed is refused: the broker runs StandardAuthorizer with no
 * allow-if-no-ACL. Made with librdkafka's Admin API (DESIGN.md §10). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/util.h"
#include "topics.h"

#define LINE_MAX_LEN 1024
#define FIELDS 5
#define BINDINGS_MAX 4096
#define POLL_MARGIN_MS 2000

struct named {
    const char *name;
    int value;
};

static const struct named operations[] = {
    {"read", RD_KAFKA_ACL_OPERATION_READ},
    {"write", RD_KAFKA_ACL_OPERATION_WRITE},
    {"describe", RD_KAFKA_ACL_OPERATION_DESCRIBE},
    {"create", RD_KAFKA_ACL_OPERATION_CREATE},
    {"alter", RD_KAFKA_ACL_OPERATION_ALTER},
    {"delete", RD_KAFKA_ACL_OPERATION_DELETE},
    {"describe_configs", RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS},
    {NULL, 0},
};

static const struct named resources[] = {
    {"topic", RD_KAFKA_RESOURCE_TOPIC},
    {"group", RD_KAFKA_RESOURCE_GROUP},
    {NULL, 0},
};

static const struct named patterns[] = {
    {"literal", RD_KAFKA_RESOURCE_PATTERN_LITERAL},
    {"prefixed", RD_KAFKA_RESOURCE_PATTERN_PREFIXED},
    {NULL, 0},
};

static int lookup(const struct named *table, const char *name, int *out)
{
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0) {
            *out = table->value;
            return 0;
        }
    return -1;
}

struct acl_file {
    const char *path;
    unsigned line;
    rd_kafka_AclBinding_t *bindings[BINDINGS_MAX];
    size_t count;
};

static int fail_at(const struct acl_file *f, const char *what, const char *value)
{
    fprintf(stderr, "mdv-topics: %s:%u: %s '%s'\n", f->path, f->line, what, value);
    return -1;
}

/* A principal is a certificate's CN: letters, digits, '-', '_', '.'. */
static int valid_principal(const char *p)
{
    if (!*p)
        return 0;
    for (; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return 0;
    return 1;
}

static int add_binding(struct acl_file *f, int resource, const char *name, int pattern,
                       const char *principal, int operation)
{
    char errstr[512], user[256];
    if (f->count == BINDINGS_MAX)
        return fail_at(f, "more bindings than", "4096");
    snprintf(user, sizeof(user), "User:%s", principal);
    rd_kafka_AclBinding_t *b = rd_kafka_AclBinding_new(
        (rd_kafka_ResourceType_t)resource, name, (rd_kafka_ResourcePatternType_t)pattern, user, "*",
        (rd_kafka_AclOperation_t)operation, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, errstr,
        sizeof(errstr));
    if (!b)
        return fail_at(f, errstr, name);
    f->bindings[f->count++] = b;
    return 0;
}

/* One binding per principal × operation of the line's lists. */
static int parse_line(struct acl_file *f, char *fields[FIELDS])
{
    int resource, pattern, operation;
    char *p_save, *o_save;
    if (lookup(resources, fields[2], &resource) != 0)
        return fail_at(f, "unknown resource type (topic, group)", fields[2]);
    if (lookup(patterns, fields[3], &pattern) != 0)
        return fail_at(f, "unknown pattern (literal, prefixed)", fields[3]);
    for (char *who = strtok_r(fields[0], ",", &p_save); who; who = strtok_r(NULL, ",", &p_save)) {
        if (!valid_principal(who))
            return fail_at(f, "not a principal", who);
        char ops[LINE_MAX_LEN];
        mdv_strlcpy(ops, fields[1], sizeof(ops));
        for (char *op = strtok_r(ops, ",", &o_save); op; op = strtok_r(NULL, ",", &o_save)) {
            if (lookup(operations, op, &operation) != 0)
                return fail_at(f, "unknown operation", op);
            if (add_binding(f, resource, fields[4], pattern, who, operation) != 0)
                return -1;
        }
    }
    return 0;
}

/* Splits a line into its five whitespace-separated fields; blank lines and
 * '#' comments have none (returns 0), a wrong count is an error. */
static int split(struct acl_file *f, char *text, char *fields[FIELDS])
{
    char *save, *hash = strchr(text, '#');
    int n = 0;
    if (hash)
        *hash = '\0';
    for (char *t = strtok_r(text, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == FIELDS)
            return fail_at(f, "more than 5 fields; extra", t);
        fields[n++] = t;
    }
    if (n != 0 && n != FIELDS)
        return fail_at(f, "expected principal, operations, resource, pattern, name; got",
                       fields[0]);
    return n;
}

static int read_file(struct acl_file *f)
{
    char text[LINE_MAX_LEN];
    FILE *in = fopen(f->path, "r");
    int rc = 0;
    if (!in) {
        fprintf(stderr, "mdv-topics: cannot read %s: %s\n", f->path, strerror(errno));
        return -1;
    }
    while (rc == 0 && fgets(text, sizeof(text), in)) {
        char *fields[FIELDS];
        f->line++;
        int n = split(f, text, fields);
        if (n < 0)
            rc = -1;
        else if (n == FIELDS)
            rc = parse_line(f, fields);
    }
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "mdv-topics: reading %s: %s\n", f->path, strerror(errno));
        rc = -1;
    }
    fclose(in);
    return rc;
}

static int report(const rd_kafka_CreateAcls_result_t *result, const struct acl_file *f)
{
    size_t n = 0;
    const rd_kafka_acl_result_t **acls = rd_kafka_CreateAcls_result_acls(result, &n);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_error_t *err = rd_kafka_acl_result_error(acls[i]);
        if (err) {
            fprintf(stderr, "mdv-topics: ACL %zu of %s refused: %s\n", i + 1, f->path,
                    rd_kafka_error_string(err));
            rc = -1;
        }
    }
    if (rc == 0)
        printf("%zu ACL bindings from %s in place\n", n, f->path);
    return rc;
}

static int create(rd_kafka_t *rk, struct acl_file *f, long timeout_ms)
{
    char errstr[512];
    int rc = -1;
    rd_kafka_event_t *event = NULL;
    rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *admin = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATEACLS);
    if (rd_kafka_AdminOptions_set_request_timeout(admin, (int)timeout_ms, errstr, sizeof(errstr)) !=
        0) {
        fprintf(stderr, "mdv-topics: admin options: %s\n", errstr);
        goto out;
    }
    rd_kafka_CreateAcls(rk, f->bindings, f->count, admin, queue);
    event = rd_kafka_queue_poll(queue, (int)timeout_ms + POLL_MARGIN_MS);
    if (!event) {
        fprintf(stderr, "mdv-topics: no answer to CreateAcls within %ld ms\n", timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(event)) {
        fprintf(stderr, "mdv-topics: CreateAcls: %s\n", rd_kafka_event_error_string(event));
        goto out;
    }
    const rd_kafka_CreateAcls_result_t *result = rd_kafka_event_CreateAcls_result(event);
    if (!result) {
        fprintf(stderr, "mdv-topics: unexpected event %s\n", rd_kafka_event_name(event));
        goto out;
    }
    rc = report(result, f);
out:
    if (event)
        rd_kafka_event_destroy(event);
    rd_kafka_AdminOptions_destroy(admin);
    rd_kafka_queue_destroy(queue);
    return rc;
}

int mdv_topics_apply_acls(rd_kafka_t *rk, const char *path, long timeout_ms)
{
    struct acl_file *f = mdv_xcalloc(1, sizeof(*f));
    int rc = -1;
    f->path = path;
    if (read_file(f) != 0)
        goto out;
    if (f->count == 0) {
        fprintf(stderr, "mdv-topics: %s lists no ACL\n", path);
        goto out;
    }
    rc = create(rk, f, timeout_ms);
out:
    rd_kafka_AclBinding_destroy_array(f->bindings, f->count);
    free(f);
    return rc;
}
