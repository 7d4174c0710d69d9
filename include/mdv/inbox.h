/* The inbox: the (ce_source, ce_id) of every event a service applied, so
 * that a redelivered event is recognised and skipped (DESIGN.md §5). */
#ifndef MDV_INBOX_H
#define MDV_INBOX_H

#include <libpq-fe.h>

#include "mdv/util.h"

/* Inside the caller's transaction: records the event. Returns 1 when it is
 * new, 0 when it was already applied, -1 on error. */
int mdv_inbox_claim(PGconn *conn, const char *ce_source, const char *ce_id) MDV_MUSTCHECK;

#endif
