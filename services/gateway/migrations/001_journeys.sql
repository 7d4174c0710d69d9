-- The journeys read model: one row per declaration, one row per step, fed
-- by every service's events (projection.c). Steps keep the report with the
-- highest sequence, so reports may arrive in any order.
CREATE TABLE journeys (
    journey_id uuid PRIMARY KEY,
    usager_id  text NOT NULL,
    kind       text NOT NULL,
    planned    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX journeys_usager ON journeys (usager_id, created_at DESC, journey_id DESC);

CREATE TABLE journey_steps (
    journey_id     uuid NOT NULL REFERENCES journeys,
    code           text NOT NULL,
    position       int,
    administration text,
    label          text,
    status         text NOT NULL DEFAULT 'pending',
    sequence       bigint NOT NULL DEFAULT 0,
    detail         text,
    received_at    timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    due_at         timestamptz,
    PRIMARY KEY (journey_id, code)
);

-- Idempotency-Key: a replay with the same body gets the first answer.
CREATE TABLE idempotency_keys (
    usager_id       text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    text NOT NULL,
    journey_id      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (usager_id, idempotency_key)
);
