/* libcurl (7.88 in Debian bookworm) as a small JSON client. One easy
 * handle per call: calls are rare (a sign-in, a key refresh), and a handle
 * per call needs no lock between the HTTP threads. */
#include "mdv/httpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/log.h"

#define CONNECT_TIMEOUT_MS 3000L
#define TIMEOUT_MS 10000L

struct buffer {
    char *data;
    size_t len;
    int overflow;
};

int mdv_httpc_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
        return 0;
    mdv_error("curl_global_init failed");
    return -1;
}

void mdv_httpc_cleanup(void)
{
    curl_global_cleanup();
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct buffer *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > MDV_HTTPC_BODY_MAX) {
        b->overflow = 1;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    b->data = mdv_xrealloc(b->data, b->len + n + 1);
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static CURL *easy_new(const char *url, struct buffer *b)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return NULL;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
    return curl;
}

/* Runs the request; the body as a JSON object in *out. */
static int perform(CURL *curl, struct buffer *b, long *status, json_t **out, char *err,
                   size_t errlen)
{
    CURLcode code = curl_easy_perform(curl);
    *out = NULL;
    if (code != CURLE_OK) {
        snprintf(err, errlen, "%s", b->overflow ? "answer too large" : curl_easy_strerror(code));
        return -1;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    json_error_t jerr;
    *out = b->data ? json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (json_is_object(*out))
        return 0;
    json_decref(*out);
    *out = NULL;
    snprintf(err, errlen, "HTTP %ld without a JSON object", *status);
    return -1;
}

/* bearer: an access token sent as RFC 6750 says (libcurl writes the
 * header), or NULL. */
static int get_json(const char *url, const char *bearer, json_t **out, char *err, size_t errlen)
{
    struct buffer b = {0};
    long status = 0;
    int rc = -1;
    CURL *curl = easy_new(url, &b);

    *out = NULL;
    if (!curl) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    if (bearer) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, bearer);
    }
    if (perform(curl, &b, &status, out, err, errlen) != 0)
        goto out;
    if (status != 200) {
        snprintf(err, errlen, "HTTP %ld", status);
        json_decref(*out);
        *out = NULL;
        goto out;
    }
    rc = 0;
out:
    curl_easy_cleanup(curl);
    free(b.data);
    return rc;
}

int mdv_httpc_get_json(const char *url, json_t **out, char *err, size_t errlen)
{
    return get_json(url, NULL, out, err, errlen);
}

int mdv_httpc_get_json_bearer(const char *url, const char *token, json_t **out, char *err,
                              size_t errlen)
{
    return get_json(url, token, out, err, errlen);
}

/* name=value&... with each part percent-encoded; the caller frees it. */
static char *form_encode(CURL *curl, const char *const *fields)
{
    char *form = mdv_xstrdup("");
    for (size_t i = 0; fields[i] && fields[i + 1]; i += 2) {
        char *name = curl_easy_escape(curl, fields[i], 0);
        char *value = curl_easy_escape(curl, fields[i + 1], 0);
        char *next =
            mdv_xasprintf("%s%s%s=%s", form, i ? "&" : "", name ? name : "", value ? value : "");
        curl_free(name);
        curl_free(value);
        free(form);
        form = next;
    }
    return form;
}

int mdv_httpc_post_form(const char *url, const char *user, const char *password,
                        const char *const *fields, long *status, json_t **out, char *err,
                        size_t errlen)
{
    struct buffer b = {0};
    CURL *curl = easy_new(url, &b);
    int rc = -1;

    *out = NULL;
    if (!curl) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    char *euser = curl_easy_escape(curl, user, 0);
    char *epass = curl_easy_escape(curl, password, 0);
    char *form = form_encode(curl, fields);
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, euser);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, epass);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
    rc = perform(curl, &b, status, out, err, errlen);
    curl_free(euser);
    curl_free(epass);
    free(form);
    curl_easy_cleanup(curl);
    free(b.data);
    return rc;
}

int mdv_httpc_post_json(const char *url, const char *bearer, const json_t *body, long timeout_ms,
                        long *status, json_t **out, char *err, size_t errlen)
{
    struct buffer b = {0};
    CURL *curl = easy_new(url, &b);
    struct curl_slist *headers = NULL;
    int rc = -1;

    *out = NULL;
    if (!curl) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    char *authorization = mdv_xasprintf("Authorization: Bearer %s", bearer);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, authorization);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text ? text : "");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    rc = perform(curl, &b, status, out, err, errlen);
    curl_slist_free_all(headers);
    free(authorization);
    free(text);
    curl_easy_cleanup(curl);
    free(b.data);
    return rc;
}

char *mdv_httpc_escape(const char *text)
{
    /* libcurl ignores the handle here since 7.82. */
    char *escaped = curl_easy_escape(NULL, text, 0);
    char *out = mdv_xstrdup(escaped ? escaped : "");
    curl_free(escaped);
    return out;
}
