/* The server-rendered pages (pages.c, pages_journeys.c, pages_recipients.c): HTML made by the
 * gateway with the DSFR's classes, in French, for reading without
 * JavaScript: the public indicators and a signed-in usager's journeys. */
#ifndef GATEWAY_PAGES_H
#define GATEWAY_PAGES_H

#include "gateway.h"
#include "html.h"

/* The page's head, header and the opening of <main>; with a session's
 * CSRF token (NULL: none) the header offers the usager's journeys and the
 * sign-out form rather than sign-in. */
void page_begin(struct html *h, const char *title, const char *csrf_token);
/* Closes <main>, the footer, the document. */
void page_end(struct html *h);
/* Answers the page built in h (taken) with status. */
void page_send(struct mdv_http_response *res, int status, struct html *h);
/* A page of one message: title, text, and a link (href, label) or none. */
void page_message(struct mdv_http_response *res, int status, const char *title, const char *text,
                  const char *href, const char *label);
/* The page of a 503 whose database cannot serve the request now, with
 * Retry-After as every service's problem answer (mdv_http_unavailable):
 * text tells the usager what cannot be shown. */
void page_unavailable(struct mdv_http_response *res, const char *text);
/* The French label of a kind of démarche ("Je perds un proche : déclarer
 * un décès"), or the kind itself when unknown. */
const char *page_kind_label(const char *kind);

/* For a journey declared under a mandate the caller sees, the mandate's
 * section (pages_mandate.c); nothing for another journey. -1 on a
 * database error. */
int page_mandate_section(struct html *h, PGconn *conn, const struct gateway_caller *caller,
                         const char *journey_id, const char *csrf) MDV_MUSTCHECK;
/* Ends the caller's mandate covering journey_id (gateway_mandate_end): 0
 * when ended or already over, 1 when no mandate of theirs covers it, -1 on
 * a database error. */
int page_mandate_end(PGconn *conn, const struct gateway_caller *caller,
                     const char *journey_id) MDV_MUSTCHECK;
/* The journey's « Destinataires » section (pages_recipients.c). */
void pages_recipients_section(struct html *h, json_t *journey);

void pages_indicators(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void pages_journeys(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void pages_journey(const struct mdv_http_request *req, struct mdv_http_response *res, void *ctx);
void pages_rating_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                       void *ctx);
void pages_mandate_end_post(const struct mdv_http_request *req, struct mdv_http_response *res,
                            void *ctx);

#endif
