-- The surviving spouse of a claim, when known (survivor_key: their pivot
-- key, shared/pivot.c), so that their AddressChanged and PersonNameChanged
-- find the claim; NULL for claims whose survivor was not identified.
-- The address the caisses de retraite write to: address_lines (1-3),
-- address_postal_code, address_commune_code (INSEE COG), address_city,
-- address_updated_at (when an AddressChanged last set it).
ALTER TABLE survivor_claims
    ADD COLUMN survivor_key text,
    ADD COLUMN address_lines text[] CHECK (cardinality(address_lines) BETWEEN 1 AND 3),
    ADD COLUMN address_postal_code text,
    ADD COLUMN address_commune_code text,
    ADD COLUMN address_city text,
    ADD COLUMN address_updated_at timestamptz;
CREATE INDEX survivor_claims_survivor ON survivor_claims (survivor_key);
