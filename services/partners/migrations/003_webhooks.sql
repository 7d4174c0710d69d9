-- The webhook partners (rules/partners.tsv, channel webhook): each has at
-- most one endpoint, registered through the partners' API, and the secret
-- that signs its POSTs (Standard Webhooks, whsec_<base64>). During a
-- rotation the previous secret signs too, until previous_until.
-- disabled_at: the endpoint answered 410 Gone; its deliveries wait until
-- the partner registers an endpoint again.
CREATE TABLE endpoints (
    partner         text PRIMARY KEY,
    url             text NOT NULL,
    secret          text NOT NULL,
    previous_secret text,
    previous_until  timestamptz,
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per notice to a webhook partner, written in the transaction
-- that records the notice (so once per journey and step). The body is
-- fixed then: every attempt and every replay sends the same bytes under
-- the same webhook-id (the row's id). The schedule lives here: the worker
-- claims a due row by moving next_attempt_at past the attempt's longest
-- time, so a worker killed in the middle leaves a row that comes due
-- again, and a restart loses no retry.
--   status: pending (to send, or waiting for its endpoint), delivered (a
--   2xx came back), dead (the last attempt failed: dead-lettered).
--   max_attempts: the schedule's length when written; a replay sets it
--   to one more than made so far. replay_pending: the next attempt is a
--   replay the partner asked for (the log says so).
CREATE TABLE deliveries (
    id              uuid PRIMARY KEY,
    seq             bigserial UNIQUE,
    partner         text NOT NULL,
    journey_id      uuid NOT NULL,
    step_code       text NOT NULL,
    event_type      text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL,
    replay_pending  boolean NOT NULL DEFAULT false,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    dead_at         timestamptz,
    last_error      text,
    UNIQUE (journey_id, step_code)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_of_partner ON deliveries (partner, seq);

-- The delivery log: one row per attempt, written when the attempt starts
-- (ended_at NULL afterwards: the worker died during it) and completed with
-- what the endpoint answered.
CREATE TABLE delivery_attempts (
    delivery_id uuid NOT NULL REFERENCES deliveries (id),
    n           integer NOT NULL,
    replay      boolean NOT NULL DEFAULT false,
    url         text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    http_status integer,
    error       text,
    retry_after timestamptz,
    PRIMARY KEY (delivery_id, n)
);
