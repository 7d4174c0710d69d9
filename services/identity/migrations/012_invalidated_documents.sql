-- A title declared lost or stolen (identity_document with reason loss or
-- theft) is invalidated at the pré-demande, as the ANTS does on a
-- déclaration de perte ou de vol: it can no longer be used, even if found.
--   invalidated_reason  'loss' or 'theft', as declared
--   invalidated_at      when the pré-demande invalidated it
--   invalidated_by      the pré-demande that declared it lost or stolen
ALTER TABLE identity_documents DROP CONSTRAINT identity_documents_status_check;
ALTER TABLE identity_documents
    ADD CONSTRAINT identity_documents_status_check
        CHECK (status IN ('valid', 'cancelled', 'expired', 'invalidated')),
    ADD COLUMN invalidated_reason text CHECK (invalidated_reason IN ('loss', 'theft')),
    ADD COLUMN invalidated_at timestamptz,
    ADD COLUMN invalidated_by text REFERENCES predemandes (number),
    ADD CHECK ((status = 'invalidated') = (invalidated_reason IS NOT NULL));
