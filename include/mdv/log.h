/* JSON-lines logging on stderr: one object a line with time, level,
 * service, message and, when known, the message's context (journey, event,
 * topic/partition/offset). Arguments are not evaluated below the level. */
#ifndef MDV_LOG_H
#define MDV_LOG_H

#include <stdint.h>

#include "mdv/util.h"

enum mdv_log_level { MDV_LOG_DEBUG, MDV_LOG_INFO, MDV_LOG_WARN, MDV_LOG_ERROR };

/* Context of the message being handled; NULL fields are left out. */
struct mdv_log_ctx {
    const char *journey_id;
    const char *ce_id;
    const char *topic;
    int32_t partition;
    int64_t offset;
};

extern enum mdv_log_level mdv_log_min_level;

/* service is kept (not copied): pass a string that outlives the process. */
void mdv_log_init(const char *service, enum mdv_log_level min_level);
/* Adds "instance" to every line (replicas of one service log side by
 * side); instance is kept, not copied. */
void mdv_log_set_instance(const char *instance);
/* Parses "debug", "info", "warn", "error"; -1 when unknown. */
int mdv_log_parse_level(const char *name);
void mdv_log_emit(enum mdv_log_level level, const struct mdv_log_ctx *ctx, const char *fmt, ...)
    MDV_PRINTF(3, 4);

#define mdv_log_at(level, ctx, ...)                                                                \
    do {                                                                                           \
        if ((level) >= mdv_log_min_level)                                                          \
            mdv_log_emit((level), (ctx), __VA_ARGS__);                                             \
    } while (0)

#define mdv_debug(...) mdv_log_at(MDV_LOG_DEBUG, NULL, __VA_ARGS__)
#define mdv_info(...) mdv_log_at(MDV_LOG_INFO, NULL, __VA_ARGS__)
#define mdv_warn(...) mdv_log_at(MDV_LOG_WARN, NULL, __VA_ARGS__)
#define mdv_error(...) mdv_log_at(MDV_LOG_ERROR, NULL, __VA_ARGS__)

#endif
