/* The usager's page: the files of the web folder (MDV_WEB_DIR: index.html
 * and static/, the page's own files and the DSFR under static/dsfr/, made
 * by make web), served read-only. A path names a file only through
 * segments of letters, digits, '-', '_' and '.' that do not start with a
 * dot, so no "..", no hidden file and no other encoding of them can leave
 * the folder; the file is opened without following a symbolic link and
 * must be a regular file. Only known extensions are served, each with its
 * content type. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway.h"
#include "mdv/log.h"

#define PATH_MAX_LEN 512

/* default-src 'none', then each kind of resource from the gateway itself:
 * no inline script or style, no other origin, no framing. DSFR's icons are
 * files and its CSS masks data: URIs (images). Forms post to the gateway,
 * and the sign-out's answer sends the browser on to the identity
 * provider, which form-action must allow too (browsers check a form's
 * redirects against it). */
#define CSP_HEAD                                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"               \
    " font-src 'self'; connect-src 'self'; manifest-src 'self'; frame-ancestors 'none';"           \
    " base-uri 'none'; form-action 'self'"
#define ORIGIN_MAX 256
static char csp[sizeof(CSP_HEAD) + ORIGIN_MAX + 2] = CSP_HEAD;

void web_init(const char *issuer)
{
    const char *authority = issuer ? strstr(issuer, "://") : NULL;
    if (!authority)
        return;
    size_t n = (size_t)(authority + 3 - issuer) + strcspn(authority + 3, "/");
    if (n < ORIGIN_MAX)
        snprintf(csp, sizeof(csp), "%s %.*s", CSP_HEAD, (int)n, issuer);
}

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/vnd.microsoft.icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {NULL, NULL},
};

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (int i = 0; dot && types[i].ext; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

int web_path_is_safe(const char *rel)
{
    int at_segment_start = 1;
    if (!*rel || strlen(rel) >= PATH_MAX_LEN)
        return 0;
    for (const char *p = rel; *p; p++) {
        if (*p == '/') {
            if (at_segment_start)
                return 0; /* an empty segment */
            at_segment_start = 1;
            continue;
        }
        if (at_segment_start && *p == '.')
            return 0;
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", *p))
            return 0;
        at_segment_start = 0;
    }
    return !at_segment_start;
}

/* The DSFR changes only with its pinned version; the page's own files are
 * revalidated every time, so a new page reaches usagers at once. */
static const char *cache_control(const char *rel)
{
    return strncmp(rel, "static/dsfr/", 12) == 0 ? "public, max-age=86400" : "no-cache";
}

void web_security_headers(struct mdv_http_response *res)
{
    mdv_http_add_header(res, "Content-Security-Policy", csp);
    mdv_http_add_header(res, "X-Content-Type-Options", "nosniff");
    mdv_http_add_header(res, "Referrer-Policy", "same-origin");
    mdv_http_add_header(res, "X-Frame-Options", "DENY");
    mdv_http_add_header(res, "Cross-Origin-Opener-Policy", "same-origin");
}

static void not_found(struct mdv_http_response *res)
{
    mdv_http_problem(res, 404, "not-found", "Page introuvable", "No file at this path.", NULL);
}

/* Answers the file rel of the web folder (rel already checked). */
static void send_file(struct gateway *gw, const char *rel, struct mdv_http_response *res)
{
    const char *type = content_type(rel);
    char path[PATH_MAX_LEN * 2];
    struct stat st;
    int fd = -1;

    if (!type || !gw->web_dir)
        goto out;
    snprintf(path, sizeof(path), "%s/%s", gw->web_dir, rel);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    mdv_http_file(res, 200, fd, (uint64_t)st.st_size, type);
    fd = -1;
    mdv_http_add_header(res, "Cache-Control", cache_control(rel));
    web_security_headers(res);
out:
    if (fd >= 0)
        close(fd);
    if (!res->file_open)
        not_found(res);
}

void web_index(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    (void)req;
    send_file(ctx, "index.html", res);
}

void web_static(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx)
{
    char rel[PATH_MAX_LEN + 8];
    if (!web_path_is_safe(req->param)) {
        not_found(res);
        return;
    }
    snprintf(rel, sizeof(rel), "static/%s", req->param);
    send_file(ctx, rel, res);
}
