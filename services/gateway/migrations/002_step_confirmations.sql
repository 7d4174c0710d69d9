-- One confirmation per (journey, step), claimed in the transaction that puts
-- StepConfirmed in the outbox: concurrent confirmations, on any gateway
-- replica, meet on the primary key and only one of them publishes.
-- idempotency_key (the usager's, when they sent one) lets a retry get the
-- first answer back.
CREATE TABLE step_confirmations (
    journey_id      uuid NOT NULL REFERENCES journeys,
    code            text NOT NULL,
    usager_id       text NOT NULL,
    idempotency_key text,
    confirmed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (journey_id, code),
    UNIQUE (usager_id, idempotency_key)
);
