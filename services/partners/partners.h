/* partners — the administrations outside the five services (CNAV,
 * DGFiP…), DESIGN.md §11. What the service's files share: the rules
 * (rules/partners.tsv: who the partners are and how they are reached;
 * rules/entitlements.tsv: what each may see, and why), the projections
 * (one protobuf message per entitlement, built field by field from the
 * domain event) and the handlers of the events that are notified. */
#ifndef PARTNERS_H
#define PARTNERS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "mdv/partner/v1/partner.pb-c.h"
#include "mdv/service.h"

/* ---- projections.c: the partner-specific messages ---- */

/* Room for any projection; strings and arrays point into the domain
 * event it was built from. */
union partners_message {
    ProtobufCMessage base;
    Mdv__Partner__V1__CnavDeathNotice cnav_death;
    Mdv__Partner__V1__DgfipDeathNotice dgfip_death;
};

/* One projection: the message a partner gets for one kind of domain
 * event. */
struct partners_projection {
    const ProtobufCMessageDescriptor *descriptor; /* its full name names it in the rules */
    const char *event;                            /* the domain event's ce_type it is built from */
    const char *ce_event; /* its own ce_type: fr.gouv.mdv.partners.<ce_event>.v1 */
    /* Fills out from the decoded domain event, field by field. */
    void (*build)(const void *event, union partners_message *out);
};

/* The projection of that full protobuf name, or NULL. */
const struct partners_projection *partners_projection_find(const char *name);
/* Every projection, NULL-terminated (for the tests). */
extern const struct partners_projection *const partners_projections[];

/* ---- entitlements.c: rules/partners.tsv and rules/entitlements.tsv ---- */

struct partners_partner {
    char *id;             /* "cnav": its certificate's CN, its topics' infix */
    char *administration; /* shown to the usager */
    char *channel;        /* "kafka" */
    char *group;          /* the consumer group whose commits acknowledge */
};

struct partners_entitlement {
    const struct partners_partner *partner;
    char *event; /* domain ce_type */
    const struct partners_projection *projection;
    char **fields; /* the projection's field names, as listed */
    size_t n_fields;
    int mandatory; /* 0: optional, sent only with the usager's consent */
    char *step;    /* "<partner>.<what>": the journey step it becomes */
    char *label;   /* French */
    int due_days;  /* the délai annoncé from notification */
    char *basis;   /* the legal basis, as written */
};

struct partners_rules {
    struct partners_partner *partners;
    size_t n_partners;
    struct partners_entitlement *entitlements;
    size_t n_entitlements;
};

/* Loads and checks both files of dir (each field of a projection listed,
 * nothing listed that the projection cannot carry, no NIR); on a wrong
 * file writes "path:line: why" into err and returns NULL. Free with
 * partners_rules_free. */
struct partners_rules *partners_rules_load(const char *dir, char *err, size_t errlen);
void partners_rules_free(struct partners_rules *rules);

/* The rules loaded at start (main.c). */
extern struct partners_rules *partners_rules;

/* ---- notify.c ---- */

/* DeathRecorded: each partner entitled to it gets its projection. */
enum mdv_outcome partners_on_death(struct mdv_msg *msg);

#endif
