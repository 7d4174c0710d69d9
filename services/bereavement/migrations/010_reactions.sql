-- The steps the owners' plans give the caisses de retraite, noted from
-- their journey_planned (shared/reaction.c): an AddressChanged under a
-- journey whose plan has no bereavement.claim_address_updated (a return to
-- France) applies nothing and adds no step.
CREATE TABLE planned_steps (
    journey_id uuid NOT NULL,
    code       text NOT NULL,
    PRIMARY KEY (journey_id, code)
);
-- The surviving spouse's family name (the nom de naissance of the
-- survivor_key, once a PersonNameChanged gave it) and nom d'usage.
ALTER TABLE survivor_claims
    ADD COLUMN survivor_family_name text,
    ADD COLUMN survivor_usage_name text;
-- One row per step applied on another service's event (a claim's address
-- or name): the exactly-once evidence (shared/journey.c).
CREATE TABLE applied_effects (
    id bigserial PRIMARY KEY, journey_id uuid NOT NULL, effect text NOT NULL,
    status text NOT NULL, detail text NOT NULL, instance_id text,
    applied_at timestamptz NOT NULL DEFAULT now());
