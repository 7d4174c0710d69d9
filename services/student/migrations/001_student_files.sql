-- Student files as the CROUS knows them.
CREATE TABLE student_files (
    file_id          uuid PRIMARY KEY,
    family_name      text NOT NULL,
    given_names      text[] NOT NULL,
    pivot_key        text NOT NULL,
    -- the parent whose resources the bourse was assessed on, when known
    parent_pivot_key text,
    status           text NOT NULL CHECK (status IN ('open', 'closed')),
    bourse_echelon   text,
    closed_reason    text,
    reassessment     text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX student_files_pivot_key ON student_files (pivot_key);
CREATE INDEX student_files_parent ON student_files (parent_pivot_key);

-- One row per DeathRecorded applied: the exactly-once evidence.
CREATE TABLE applied_effects (
    id bigserial PRIMARY KEY, journey_id uuid NOT NULL, effect text NOT NULL,
    status text NOT NULL, detail text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
