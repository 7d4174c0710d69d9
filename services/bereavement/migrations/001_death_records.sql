-- Deaths recorded by the état civil, one per bereavement journey.
CREATE TABLE death_records (
    journey_id             uuid PRIMARY KEY,
    usager_id              text NOT NULL,
    family_name            text NOT NULL,
    given_names            text[] NOT NULL,
    sex                    char(1) NOT NULL,
    birth_date             date NOT NULL,
    birth_place            text NOT NULL,
    death_date             date NOT NULL,
    death_place            text NOT NULL,
    declarant_relationship text NOT NULL,
    recorded_at            timestamptz NOT NULL DEFAULT now()
);

-- Pre-filled pension de réversion claims offered to a surviving spouse; the
-- claim is not automatic in France: the survivor must confirm it.
CREATE TABLE survivor_claims (
    journey_id  uuid PRIMARY KEY REFERENCES death_records,
    usager_id   text NOT NULL,
    status      text NOT NULL CHECK (status IN ('offered', 'confirmed', 'withdrawn')),
    offered_at  timestamptz NOT NULL DEFAULT now()
);
