-- The surviving spouse's pivot identity, as they gave it when declaring
-- the death (the declaration's declarant), so that the confirmed claim
-- names its claimant: survivor_family_name (010) holds their nom de
-- naissance, these the rest. NULL for a claim whose survivor gave no
-- identity, and for the claims made before this migration.
ALTER TABLE survivor_claims
    ADD COLUMN survivor_given_names text[],
    ADD COLUMN survivor_sex char(1),
    ADD COLUMN survivor_birth_date date,
    ADD COLUMN survivor_birth_place text;
