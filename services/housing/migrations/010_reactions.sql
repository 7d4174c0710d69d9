-- The steps the owners' plans give the Anah, noted from their
-- journey_planned (shared/reaction.c): an AddressChanged under a journey
-- whose plan has no housing.residence_reviewed (a return to France,
-- already acted on through ResidenceAbroadEnded) applies nothing and adds
-- no step.
CREATE TABLE planned_steps (
    journey_id uuid NOT NULL,
    code       text NOT NULL,
    PRIMARY KEY (journey_id, code)
);
-- The applicant's nom d'usage, as PersonNameChanged last gave it.
ALTER TABLE mpr_files ADD COLUMN usage_name text;
-- A new main address elsewhere than a file's dwelling: the files the
-- usager is asked about (housing.residence_reviewed, action_required),
-- until they confirm the withdrawal ('withdrawn', at decided_at).
CREATE TABLE residence_reviews (
    journey_id uuid PRIMARY KEY,
    file_ids   uuid[] NOT NULL,
    status     text NOT NULL CHECK (status IN ('pending', 'withdrawn')),
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz
);
