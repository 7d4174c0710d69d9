/* Journey events (proto/mdv/journey/v1) from JSON, for the end-to-end
 * tests that play a step's owner on the stack's topics, with the times
 * they choose (test_indicators.py: délais constatés of days, without
 * waiting days):
 *
 *   journey_events steps_added < {"journey_id", "added_at",
 *       "steps": [{"code", "owner", "administration", "label", "due_at"}]}
 *   journey_events step_reported < {"journey_id", "code", "sequence",
 *       "status": "received"|"done"|..., "detail", "reported_at", "due_at"}
 *
 * prints the protobuf value on stdout. The messages are packed by
 * protobuf-c from the generated descriptors. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/journey.h"

/* The string at key, "" when absent: proto3's default. */
static char *text(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return (char *)(s ? s : "");
}

static int status_of(const char *name, mdv_step_status *out)
{
    for (int v = MDV_STEP_PENDING; v <= MDV_STEP_FAILED; v++) {
        if (strcmp(mdv_step_status_name((mdv_step_status)v), name) == 0) {
            *out = (mdv_step_status)v;
            return 0;
        }
    }
    return -1;
}

static int write_packed(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    int ok = fwrite(buf, 1, len, stdout) == len;
    free(buf);
    return ok ? 0 : 1;
}

static int steps_added(json_t *in)
{
    Mdv__Journey__V1__StepsAdded added = MDV__JOURNEY__V1__STEPS_ADDED__INIT;
    json_t *steps = json_object_get(in, "steps");
    size_t n = json_array_size(steps);
    Mdv__Journey__V1__PlannedStep *planned = calloc(n ? n : 1, sizeof(*planned));
    Mdv__Journey__V1__PlannedStep **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    added.journey_id = text(in, "journey_id");
    added.added_at = text(in, "added_at");
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(steps, i);
        mdv__journey__v1__planned_step__init(&planned[i]);
        planned[i].code = text(s, "code");
        planned[i].owner = text(s, "owner");
        planned[i].administration = text(s, "administration");
        planned[i].label = text(s, "label");
        planned[i].due_at = text(s, "due_at");
        ptrs[i] = &planned[i];
    }
    added.n_steps = n;
    added.steps = ptrs;
    int rc = write_packed(&added.base);
    free(planned);
    free(ptrs);
    return rc;
}

static int step_reported(json_t *in)
{
    Mdv__Journey__V1__StepReported report = MDV__JOURNEY__V1__STEP_REPORTED__INIT;
    if (status_of(text(in, "status"), &report.status) != 0) {
        fprintf(stderr, "unknown status \"%s\"\n", text(in, "status"));
        return 1;
    }
    report.journey_id = text(in, "journey_id");
    report.code = text(in, "code");
    report.sequence = (uint32_t)json_integer_value(json_object_get(in, "sequence"));
    report.administration = text(in, "administration");
    report.label = text(in, "label");
    report.detail = text(in, "detail");
    report.reported_at = text(in, "reported_at");
    report.due_at = text(in, "due_at");
    return write_packed(&report.base);
}

int main(int argc, char **argv)
{
    json_error_t error;
    if (argc != 2) {
        fprintf(stderr, "usage: journey_events steps_added|step_reported < json > value\n");
        return 2;
    }
    json_t *in = json_loadf(stdin, 0, &error);
    if (!json_is_object(in)) {
        fprintf(stderr, "stdin is not a JSON object: %s\n", error.text);
        return 2;
    }
    int rc = strcmp(argv[1], "steps_added") == 0     ? steps_added(in)
             : strcmp(argv[1], "step_reported") == 0 ? step_reported(in)
                                                     : 2;
    if (rc == 2)
        fprintf(stderr, "unknown message %s\n", argv[1]);
    json_decref(in);
    return rc;
}
