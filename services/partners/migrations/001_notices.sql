-- One row per partner step notified: the partner's projection went to the
-- outbox in the same transaction. A journey's step is notified once,
-- whatever redelivery brings its event back; and one occurrence (a death
-- declared by two relatives: "death|<pivot key>|<date>") is sent to a
-- partner once: the later journey's notice says which one it repeats.
CREATE TABLE notices (
    journey_id   uuid NOT NULL,
    step_code    text NOT NULL,
    partner      text NOT NULL,
    source_ce_id text NOT NULL,
    occurrence   text NOT NULL,
    repeat_of    uuid,
    notified_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (journey_id, step_code)
);
CREATE UNIQUE INDEX notices_sent_once ON notices (step_code, occurrence) WHERE repeat_of IS NULL;
