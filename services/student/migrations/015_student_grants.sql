-- The dossiers sociaux étudiants (student_grant journeys): one grant per
-- journey, as assessed from the barème of its academic year (rules/
-- bourse.json), and as re-assessed after a parent's death.
--   echelon            '0bis', '1'…'7'; NULL: no bourse
--   points, resources  the points de charge and the parents' revenu brut
--                      global N-2 the échelon was read for
--   children_*, distance_km, disability, carer, overseas
--                      what the points came from, kept so that a
--                      re-assessment counts them again
--   reassessed_reason  'parent_death' once re-assessed (then echelon,
--                      annual_amount_eur and resources are the new ones,
--                      initial_* the first decision), by reassessed_by (the
--                      bereavement journey)
CREATE TABLE student_grants (
    journey_id                   uuid PRIMARY KEY,
    pivot_key                    text NOT NULL,
    -- the student's pivot identity as declared: family_name, given_names,
    -- sex, birth_date, birth_place
    person                       jsonb NOT NULL,
    academic_year                text NOT NULL,
    institution                  text NOT NULL,
    study_commune_code           text NOT NULL,
    resources                    bigint NOT NULL CHECK (resources >= 0),
    children_at_charge           integer NOT NULL CHECK (children_at_charge >= 0),
    children_in_higher_education integer NOT NULL CHECK (children_in_higher_education >= 0),
    distance_km                  integer NOT NULL CHECK (distance_km >= 0),
    disability                   boolean NOT NULL,
    carer                        boolean NOT NULL,
    overseas                     boolean NOT NULL,
    housing_wanted               boolean NOT NULL,
    points                       integer NOT NULL CHECK (points >= 0),
    echelon                      text,
    annual_amount_eur            integer NOT NULL CHECK (annual_amount_eur >= 0),
    initial_echelon              text,
    initial_amount_eur           integer NOT NULL,
    reassessed_reason            text CHECK (reassessed_reason IN ('parent_death')),
    reassessed_by                uuid,
    reassessed_at                timestamptz,
    decided_at                   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX student_grants_pivot_key ON student_grants (pivot_key);

-- The parents a dossier names (whose income it is), by their matching key:
-- a later DeathRecorded of one of them finds the grant.
CREATE TABLE student_grant_parents (
    journey_id uuid NOT NULL REFERENCES student_grants,
    pivot_key  text NOT NULL,
    person     jsonb NOT NULL, -- the parent's pivot identity as declared
    PRIMARY KEY (journey_id, pivot_key)
);
CREATE INDEX student_grant_parents_key ON student_grant_parents (pivot_key);
