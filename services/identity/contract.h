/* identity's contract with the services that react to its events: the
 * decode and check of AddressChanged and PersonNameChanged, beside their
 * producer. The services that consume mdv.identity.events.v1 compile this
 * file in (the Makefile's CONTRACTS_<service>); the library knows no
 * service. */
#ifndef MDV_IDENTITY_CONTRACT_H
#define MDV_IDENTITY_CONTRACT_H

#include <stddef.h>

#include "mdv/identity/v1/identity.pb-c.h"
#include "mdv/journey.h"
#include "mdv/pivot.h"
#include "mdv/reaction.h"
#include "mdv/util.h"

/* Each decoder: on success gives the checked message in *out (free it with
 * the message's __free_unpacked) and writes the person's matching key; on
 * a value that is not a valid message writes why into err and returns -1
 * (a dead letter). */

/* A person, an address in France, a date. */
int mdv_identity_address_changed_decode(const void *value, size_t len,
                                        Mdv__Identity__V1__AddressChanged **out,
                                        char key[MDV_PIVOT_KEY_LEN], char *err,
                                        size_t errlen) MDV_MUSTCHECK;
/* Writes the key of the previous identity (the records hold it) and of the
 * current one (the same unless birth_name_changed). */
int mdv_identity_name_changed_decode(const void *value, size_t len,
                                     Mdv__Identity__V1__PersonNameChanged **out,
                                     char previous[MDV_PIVOT_KEY_LEN],
                                     char current[MDV_PIVOT_KEY_LEN], char *err,
                                     size_t errlen) MDV_MUSTCHECK;

/* A checked AddressChanged, as a reacting service's effect reads it. */
struct mdv_address_change {
    const Mdv__Identity__V1__AddressChanged *m;
    char key[MDV_PIVOT_KEY_LEN]; /* the person, for matching */
};

/* The whole handler of the step an AddressChanged decides: decoded and
 * checked (a dead letter when invalid), then mdv_reaction_apply_step with
 * ctx the struct mdv_address_change: apply when the journey's plan gives
 * the step to this service, else pending and unplanned (the step added
 * when there is something to do). */
enum mdv_outcome mdv_address_change_apply(struct mdv_msg *msg, const char *step_code,
                                          mdv_effect_fn apply, mdv_pending_fn pending,
                                          mdv_effect_fn unplanned);

/* A checked PersonNameChanged, as a reacting service's effect reads it. */
struct mdv_name_change {
    const Mdv__Identity__V1__PersonNameChanged *m;
    char previous[MDV_PIVOT_KEY_LEN]; /* the key the records hold */
    char current[MDV_PIVOT_KEY_LEN];  /* the key from now on */
};

/* The whole handler of the step a PersonNameChanged decides: decoded and
 * checked (a dead letter when invalid), the step applied once for the
 * journey (mdv_journey_apply_step; ctx is the struct mdv_name_change). */
enum mdv_outcome mdv_name_change_apply(struct mdv_msg *msg, const char *step_code,
                                       mdv_effect_fn apply);

/* The effect done on records named in French as in (« le dossier
 * étudiant ») and from (« du dossier étudiant »): « Nom mis à jour dans
 * <in> : DUPONT » for a nom de naissance, « Nom d'usage enregistré dans
 * <in> : DURAND », or « Nom d'usage retiré <from> »; names clipped on a
 * character. */
void mdv_name_change_detail(const Mdv__Identity__V1__PersonNameChanged *m, const char *in,
                            const char *from, struct mdv_effect *out);

#endif
