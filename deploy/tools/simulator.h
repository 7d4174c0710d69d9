/* mdv-simulator's two ways of playing a partner: on Kafka (simulator.c)
 * and on webhooks (simulator_webhook.c). */
#ifndef MDV_SIMULATOR_H
#define MDV_SIMULATOR_H

#include <signal.h>
#include <stddef.h>

struct sim_webhook {
    const char *partner;    /* caf, cpam */
    const char *listen;     /* host:port its endpoint listens on */
    const char *url;        /* the endpoint it registers; NULL: http://LISTEN/webhook */
    const char *api;        /* the partners service's base URL */
    const char *token_file; /* the partner's bearer token */
    /* What it reports for a notice of that kind (<what> of the type
     * fr.gouv.mdv.partners.<partner>_<what>_notice.v1), in French; NULL
     * for a kind it does not play. */
    const char *(*detail_of)(const char *partner, const char *what);
    long delay_ms; /* before each outcome */
};

/* Serves the partner's endpoint until *stop; the exit status. */
int sim_webhook_run(const struct sim_webhook *opts, volatile sig_atomic_t *stop);

/* simulator_cnav.c: the CNAV's decision on a CnavSurvivorClaim value,
 * written into detail (French, for the usager); -1 when the value is not
 * one. */
int sim_cnav_decide(const void *value, size_t len, char *detail, size_t detail_len);
/* The monthly réversion the simulated CNAV grants for a deceased born on
 * birth_date (YYYY-MM-DD), in cents; -1 when it knows no career. */
int sim_cnav_monthly_cents(const char *birth_date);

#endif
