/* JSON-lines logger. jansson escapes the strings, so a message carrying
 * usager input can never break the line format. */
#include "mdv/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mdv_log_level mdv_log_min_level = MDV_LOG_INFO;
static const char *log_service = "mdv";
static const char *log_instance;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void mdv_log_init(const char *service, enum mdv_log_level min_level)
{
    log_service = service;
    mdv_log_min_level = min_level;
}

void mdv_log_set_instance(const char *instance)
{
    log_instance = instance;
}

int mdv_log_parse_level(const char *name)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(level_names); i++)
        if (name && strcmp(name, level_names[i]) == 0)
            return (int)i;
    return -1;
}

static void add_context(json_t *line, const struct mdv_log_ctx *ctx)
{
    if (ctx->journey_id && *ctx->journey_id)
        json_object_set_new(line, "journey_id", json_string(ctx->journey_id));
    if (ctx->ce_id && *ctx->ce_id)
        json_object_set_new(line, "ce_id", json_string(ctx->ce_id));
    if (ctx->topic) {
        json_object_set_new(line, "topic", json_string(ctx->topic));
        json_object_set_new(line, "partition", json_integer(ctx->partition));
        json_object_set_new(line, "offset", json_integer(ctx->offset));
    }
}

void mdv_log_emit(enum mdv_log_level level, const struct mdv_log_ctx *ctx, const char *fmt, ...)
{
    char message[2048];
    char now[MDV_TIME_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    mdv_time_now(now);

    json_t *line = json_object();
    json_object_set_new(line, "time", json_string(now));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "service", json_string(log_service));
    if (log_instance)
        json_object_set_new(line, "instance", json_string(log_instance));
    /* Not every formatted message is valid UTF-8 (librdkafka errors may
     * quote raw bytes): keep it readable rather than drop it. */
    json_t *text = json_string(message);
    json_object_set_new(line, "message", text ? text : json_string("(message not UTF-8)"));
    if (ctx)
        add_context(line, ctx);
    char *out = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (out) {
        fprintf(stderr, "%s\n", out);
        free(out);
    }
    json_decref(line);
}
