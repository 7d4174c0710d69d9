-- Where each notice landed on the partner's topic (the partners service
-- reads its own messages back), and when the partner acknowledged it: its
-- consumer group's committed offset passed that offset. Kept here so that
-- a restart re-reports nothing and loses no receipt.
ALTER TABLE notices
    ADD COLUMN sent_ce_id     text,
    ADD COLUMN sent_partition integer,
    ADD COLUMN sent_offset    bigint,
    ADD COLUMN received_at    timestamptz;
CREATE INDEX notices_awaiting_receipt ON notices (partner)
    WHERE received_at IS NULL AND sent_offset IS NOT NULL;

-- The outcomes partners reported, once per partner and idempotency key.
CREATE TABLE outcomes (
    partner         text NOT NULL,
    idempotency_key text NOT NULL,
    journey_id      uuid NOT NULL,
    step_code       text NOT NULL,
    status          text NOT NULL,
    detail          text NOT NULL,
    reported_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner, idempotency_key)
);
