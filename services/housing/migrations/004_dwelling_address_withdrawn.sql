-- The dwelling a MaPrimeRénov' file is for (it must be the applicant's
-- main residence): dwelling_lines (1-3 lines), dwelling_postal_code,
-- dwelling_commune_code (INSEE COG). NULL for files made before.
-- A file can now be withdrawn (status 'withdrawn', at withdrawn_at): the
-- usager confirmed that the dwelling is no longer their main residence.
-- suspended_cause says why a file is suspended, so that a return to France
-- resumes only what the departure suspended: 'death' or 'abroad'.
ALTER TABLE mpr_files
    ADD COLUMN dwelling_lines text[] CHECK (cardinality(dwelling_lines) BETWEEN 1 AND 3),
    ADD COLUMN dwelling_postal_code text,
    ADD COLUMN dwelling_commune_code text,
    ADD COLUMN withdrawn_at timestamptz,
    ADD COLUMN suspended_cause text CHECK (suspended_cause IN ('death', 'abroad'));
ALTER TABLE mpr_files DROP CONSTRAINT mpr_files_status_check;
ALTER TABLE mpr_files ADD CONSTRAINT mpr_files_status_check
    CHECK (status IN ('open', 'suspended', 'paid', 'closed', 'withdrawn'));
CREATE INDEX mpr_files_dwelling ON mpr_files (dwelling_commune_code, dwelling_postal_code);
