-- renovation_grant journeys, owned by housing. One row per journey the
-- Anah handled (the first of its messages; a second is skipped): the
-- applicant, and either the file it registered or why it refused one.
CREATE TABLE renovation_requests (
    journey_id   uuid PRIMARY KEY,
    usager_id    text NOT NULL,
    pivot_key    text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('registered', 'refused')),
    reasons      text,
    file_id      uuid,
    requested_at timestamptz NOT NULL DEFAULT now()
);
-- A file registered from a renovation_grant: its journey, its number
-- (MPR-<year>-<8 hex>), what the estimate was made from and what it gave
-- (items: one JSON object per work item, as RenovationGrantEstimated
-- carries them). Files made before (seeded) have none of these.
ALTER TABLE mpr_files
    ADD COLUMN journey_id uuid UNIQUE,
    ADD COLUMN file_number text UNIQUE,
    ADD COLUMN construction_year integer,
    ADD COLUMN household_size integer,
    ADD COLUMN reference_tax_income_eur bigint,
    ADD COLUMN ile_de_france boolean,
    ADD COLUMN items jsonb,
    ADD COLUMN total_eur bigint,
    ADD COLUMN registered_at timestamptz;
