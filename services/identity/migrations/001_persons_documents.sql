-- Persons as ANTS and the mairies know them, and their identity documents.
CREATE TABLE persons (
    person_id    uuid PRIMARY KEY,
    family_name  text NOT NULL,
    given_names  text[] NOT NULL,
    sex          char(1) NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date   date NOT NULL,
    birth_place  text NOT NULL,
    -- normalised pivot identity (shared/pivot.c), the matching key
    pivot_key    text NOT NULL,
    deceased_on  date
);
CREATE INDEX persons_pivot_key ON persons (pivot_key);

CREATE TABLE identity_documents (
    document_id  uuid PRIMARY KEY,
    person_id    uuid NOT NULL REFERENCES persons,
    kind         text NOT NULL CHECK (kind IN ('cni', 'passport')),
    number       text NOT NULL,
    status       text NOT NULL CHECK (status IN ('valid', 'cancelled', 'expired')),
    expires_on   date NOT NULL,
    cancelled_at timestamptz
);
CREATE INDEX identity_documents_person ON identity_documents (person_id);

-- One row per DeathRecorded applied: the exactly-once evidence.
CREATE TABLE applied_effects (
    id bigserial PRIMARY KEY, journey_id uuid NOT NULL, effect text NOT NULL,
    status text NOT NULL, detail text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
