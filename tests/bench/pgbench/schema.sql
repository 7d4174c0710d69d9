-- The tables the pgbench replay of one declaration writes (declaration.sql),
-- in a scratch database of the bench's own cluster: the shapes of the
-- library's inbox and outbox (shared/pg.c, with its commit-order trigger as
-- its migrations leave it), the gateway's journeys, journey_steps,
-- journey_recipients and idempotency_keys (services/gateway/migrations),
-- and what a reacting service writes beside its effect (occurrences,
-- applied_effects, step_sequences), plus one row table standing for the
-- services' own records (a death record, a person, a student file, a
-- partner's notice or outcome).
DROP TABLE IF EXISTS inbox, outbox, journeys, journey_steps, journey_recipients, idempotency_keys,
    occurrences, applied_effects, step_sequences, records CASCADE;
CREATE TABLE inbox (
    ce_source text NOT NULL, ce_id text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (ce_source, ce_id));
CREATE TABLE outbox (
    seq bigserial PRIMARY KEY, id uuid NOT NULL, aggregatetype text NOT NULL,
    aggregateid text NOT NULL, type text NOT NULL, payload bytea NOT NULL, topic text NOT NULL,
    headers jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE outbox ALTER COLUMN seq DROP DEFAULT;
CREATE OR REPLACE FUNCTION bench_outbox_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1, hashtext(NEW.aggregateid));
    NEW.seq := nextval('outbox_seq_seq'::regclass);
    RETURN NEW;
END $$;
CREATE TRIGGER outbox_commit_order BEFORE INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION bench_outbox_in_commit_order();
CREATE TABLE journeys (
    journey_id uuid PRIMARY KEY, usager_id text NOT NULL, kind text NOT NULL,
    planned boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), mandate_id uuid);
CREATE INDEX journeys_usager ON journeys (usager_id, created_at DESC, journey_id DESC);
CREATE INDEX journeys_mandate ON journeys (mandate_id) WHERE mandate_id IS NOT NULL;
CREATE TABLE idempotency_keys (
    usager_id text NOT NULL, idempotency_key text NOT NULL, request_hash text NOT NULL,
    journey_id uuid NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (usager_id, idempotency_key));
CREATE TABLE journey_steps (
    journey_id uuid NOT NULL REFERENCES journeys, code text NOT NULL, position int,
    administration text, label text, status text NOT NULL DEFAULT 'pending',
    sequence bigint NOT NULL DEFAULT 0, detail text, received_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), due_at timestamptz,
    PRIMARY KEY (journey_id, code));
CREATE TABLE journey_recipients (
    journey_id uuid NOT NULL REFERENCES journeys, step_code text NOT NULL, partner text NOT NULL,
    administration text NOT NULL, fields text[] NOT NULL, legal_basis text NOT NULL,
    basis text NOT NULL, notified_at timestamptz NOT NULL, acknowledged_at timestamptz,
    PRIMARY KEY (journey_id, step_code));
CREATE TABLE occurrences (
    occurrence text PRIMARY KEY, journey_id uuid NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE applied_effects (
    id bigserial PRIMARY KEY, journey_id uuid NOT NULL, effect text NOT NULL,
    status text NOT NULL, detail text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE step_sequences (
    journey_id uuid NOT NULL, code text NOT NULL, last bigint NOT NULL,
    PRIMARY KEY (journey_id, code));
CREATE TABLE records (
    journey_id uuid PRIMARY KEY, pivot_key text NOT NULL, detail text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX records_pivot ON records (pivot_key);
