-- Main addresses of the persons the ANTS knows, with their dates. A person
-- has at most one current main address: the row with valid_to NULL (the
-- partial unique index makes that hold; recording a new address first sets
-- valid_to on the current one, in the same transaction). Earlier rows are
-- the history, newest valid_from last.
--   lines         1 to 3 lines of the street address, as declared
--   postal_code   the postcode (abroad: the country's own, possibly none)
--   commune_code  INSEE COG code of the commune; NULL for an address abroad
--   city          the commune's or the foreign city's name
--   country_code  INSEE COG code of the country, 99100 for France
--   valid_from    first day it is the main address (the declared date)
--   valid_to      the day it stopped being it (the next one's valid_from);
--                 NULL while it is the current main address
--   journey_id    the journey that recorded it (address_change,
--                 departure_abroad, return_to_france); NULL for addresses
--                 known before (seeded)
CREATE TABLE addresses (
    address_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id    uuid NOT NULL REFERENCES persons,
    lines        text[] NOT NULL CHECK (cardinality(lines) BETWEEN 1 AND 3),
    postal_code  text,
    commune_code text,
    city         text NOT NULL,
    country_code text NOT NULL DEFAULT '99100',
    valid_from   date NOT NULL,
    valid_to     date,
    journey_id   uuid,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (country_code <> '99100' OR commune_code IS NOT NULL)
);
CREATE UNIQUE INDEX addresses_one_current ON addresses (person_id) WHERE valid_to IS NULL;
CREATE INDEX addresses_person ON addresses (person_id, valid_from);
CREATE INDEX addresses_journey ON addresses (journey_id) WHERE journey_id IS NOT NULL;

-- The nom d'usage (a spouse's name, or both parents' names), NULL when the
-- person uses none. It is never part of the matching key: the pivot
-- identity holds the nom de naissance (family_name).
ALTER TABLE persons ADD COLUMN usage_name text;

-- Pré-demandes of CNI and passports: one per identity_document journey
-- (journey_id is unique, so a redelivered declaration cannot make two).
--   number       the number the usager brings to the mairie, PD-YYYY-XXXXXXXX
--   address_id   the current main address it took from the register, NULL
--                when the register had none
--   appointment_confirmed_at  when the usager said they took the rendez-vous
--                at the mairie (StepConfirmed of identity.appointment)
CREATE TABLE predemandes (
    number        text PRIMARY KEY,
    person_id     uuid NOT NULL REFERENCES persons,
    document_type text NOT NULL CHECK (document_type IN ('cni', 'passport')),
    reason        text NOT NULL CHECK (reason IN ('first', 'renewal', 'loss', 'theft')),
    address_id    uuid REFERENCES addresses,
    journey_id    uuid NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    appointment_confirmed_at timestamptz
);
CREATE INDEX predemandes_person ON predemandes (person_id);
