/* A small HTTP/1.1 client on plain sockets for the tests that start a
 * server (one request a connection, Connection: close). */
#ifndef MDV_TESTS_HTTP_CLIENT_H
#define MDV_TESTS_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include <jansson.h>

#include "mdv/util.h"
#include "unit.h"

struct reply {
    int status;
    char *head; /* status line and headers */
    char *body;
    json_t *json; /* body parsed, or NULL */
};

static inline void reply_free(struct reply *r)
{
    free(r->head);
    free(r->body);
    json_decref(r->json);
}

static inline int connect_to(unsigned short port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

static inline void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the server may answer and close before reading all */
        data += n;
        len -= (size_t)n;
    }
}

static inline char *receive_all(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = mdv_xmalloc(cap);
    for (;;) {
        if (len + 1 == cap)
            buf = mdv_xrealloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* Sends one request (Connection: close) and reads the whole answer. */
static inline struct reply request(unsigned short port, const char *method, const char *target,
                                   const char *extra_headers, const char *body, size_t body_len)
{
    struct reply r = {0};
    char *head =
        mdv_xasprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "%s%s",
                      method, target, extra_headers ? extra_headers : "", body ? "" : "\r\n");
    int fd = connect_to(port);
    send_all(fd, head, strlen(head));
    if (body) {
        char length[64];
        snprintf(length, sizeof(length), "Content-Length: %zu\r\n\r\n", body_len);
        send_all(fd, length, strlen(length));
        send_all(fd, body, body_len);
    }
    char *raw = receive_all(fd);
    close(fd);
    free(head);

    char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    *end = '\0';
    r.head = mdv_xstrdup(raw);
    r.body = mdv_xstrdup(end + 4);
    free(raw);
    assert_int_equal(sscanf(r.head, "HTTP/1.%*d %d", &r.status), 1);
    r.json = json_loads(r.body, 0, NULL);
    return r;
}

static inline struct reply get(unsigned short port, const char *target)
{
    return request(port, "GET", target, NULL, NULL, 0);
}

/* The value of a response header (case-insensitive name), copied into out. */
static inline const char *header_value(const struct reply *r, const char *name, char *out,
                                       size_t outlen)
{
    size_t len = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *p = line + 2;
        if (strncasecmp(p, name, len) == 0 && p[len] == ':') {
            p += len + 1;
            p += strspn(p, " ");
            size_t n = strcspn(p, "\r");
            snprintf(out, outlen, "%.*s", (int)n, p);
            return out;
        }
    }
    return NULL;
}

/* A port the kernel just handed out, free unless someone races us. */
static inline unsigned short free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(sin.sin_port);
}

#endif
