-- MaPrimeRénov' files as the Anah knows them.
CREATE TABLE mpr_files (
    file_id          uuid PRIMARY KEY,
    family_name      text NOT NULL,
    given_names      text[] NOT NULL,
    pivot_key        text NOT NULL,
    -- income category of the barème (bleu, jaune, violet, rose)
    category         text NOT NULL CHECK (category IN ('bleu', 'jaune', 'violet', 'rose')),
    status           text NOT NULL CHECK (status IN ('open', 'suspended', 'paid', 'closed')),
    suspended_reason text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mpr_files_pivot_key ON mpr_files (pivot_key);

-- One row per DeathRecorded applied: the exactly-once evidence.
CREATE TABLE applied_effects (
    id bigserial PRIMARY KEY, journey_id uuid NOT NULL, effect text NOT NULL,
    status text NOT NULL, detail text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
