-- Inscriptions au Registre des Français établis hors de France.
CREATE TABLE registrations (
    registration_id uuid PRIMARY KEY,
    family_name     text NOT NULL,
    given_names     text[] NOT NULL,
    pivot_key       text NOT NULL,
    country_code    text NOT NULL, -- INSEE code of the country, 99xxx
    status          text NOT NULL CHECK (status IN ('open', 'closed')),
    registered_on   date NOT NULL,
    closed_reason   text,
    closed_at       timestamptz
);
CREATE INDEX registrations_pivot_key ON registrations (pivot_key);

-- One row per DeathRecorded applied: the exactly-once evidence.
CREATE TABLE applied_effects (
    id bigserial PRIMARY KEY, journey_id uuid NOT NULL, effect text NOT NULL,
    status text NOT NULL, detail text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
