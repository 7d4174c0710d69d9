/* What the caisses de retraite do with identity's events: the surviving
 * spouse of a pension de réversion claim moves (AddressChanged →
 * bereavement.claim_address_updated) or changes name (PersonNameChanged →
 * bereavement.name_updated). The checks of those events are the reacting
 * services' shared ones (mdv/reaction.h). */
#ifndef BEREAVEMENT_IDENTITY_EVENTS_H
#define BEREAVEMENT_IDENTITY_EVENTS_H

#include "mdv/service.h"

#define BEREAVEMENT_STEP_CLAIM_ADDRESS "bereavement.claim_address_updated"
#define BEREAVEMENT_STEP_NAME "bereavement.name_updated"

enum mdv_outcome bereavement_on_address_changed(struct mdv_msg *msg);
enum mdv_outcome bereavement_on_name_changed(struct mdv_msg *msg);

#endif
