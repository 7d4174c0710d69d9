-- The tables the pgbench replay of one declaration writes (declaration.sql),
-- in a scratch database of the bench's own cluster: the shapes of the
-- library's inbox and outbox (shared/pg.c, with its commit-order trigger),
-- the gateway's journeys and journey_steps (services/gateway/migrations),
-- and what a reacting service writes beside its effect (occurrences,
-- applied_effects, step_sequences), plus one row table standing for the
-- service's own record (a death record, a person, a student file).
DROP TABLE IF EXISTS inbox, outbox, journeys, journey_steps, occurrences, applied_effects,
    step_sequences, records CASCADE;
CREATE TABLE inbox (
    ce_source text NOT NULL, ce_id text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (ce_source, ce_id));
CREATE TABLE outbox (
    seq bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, aggregatetype text NOT NULL,
    aggregateid text NOT NULL, type text NOT NULL, payload bytea NOT NULL, topic text NOT NULL,
    headers jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE OR REPLACE FUNCTION bench_outbox_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1, hashtext(NEW.aggregateid));
    NEW.seq := nextval(pg_get_serial_sequence('outbox', 'seq'));
    RETURN NEW;
END $$;
CREATE TRIGGER outbox_commit_order BEFORE INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION bench_outbox_in_commit_order();
CREATE TABLE journeys (
    journey_id uuid PRIMARY KEY, usager_id text NOT NULL, kind text NOT NULL,
    planned boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE INDEX journeys_usager ON journeys (usager_id, created_at DESC, journey_id DESC);
CREATE TABLE journey_steps (
    journey_id uuid NOT NULL REFERENCES journeys, code text NOT NULL, position int,
    administration text, label text, status text NOT NULL DEFAULT 'pending',
    sequence bigint NOT NULL DEFAULT 0, detail text, received_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), due_at timestamptz,
    PRIMARY KEY (journey_id, code));
CREATE TABLE occurrences (occurrence text PRIMARY KEY, journey_id uuid NOT NULL);
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
