-- What an inscription au registre says besides the country:
--   consulate      the consular post it is held at ("Consulat général de
--                  France à Montréal"); NULL for inscriptions made before
--   address_lines, address_postal_code, address_city
--                  the address abroad declared with it (postcode may be
--                  absent: not every country has them)
--   expires_on     an inscription is valid 5 years from registered_on
--                  (computed: it cannot disagree with registered_on)
--   journey_id     the departure_abroad journey that opened it; NULL when
--                  opened otherwise (seeded)
--   closed_on      the day it ended: the return date, the date the usager
--                  confirmed the closing, or the death date (closed_at
--                  stays the time the row was closed)
ALTER TABLE registrations
    ADD COLUMN consulate text,
    ADD COLUMN address_lines text[],
    ADD COLUMN address_postal_code text,
    ADD COLUMN address_city text,
    ADD COLUMN expires_on date GENERATED ALWAYS AS ((registered_on + interval '5 years')::date) STORED,
    ADD COLUMN journey_id uuid,
    ADD COLUMN closed_on date;
CREATE UNIQUE INDEX registrations_journey ON registrations (journey_id) WHERE journey_id IS NOT NULL;

-- The journeys abroad owns (departure_abroad, return_to_france), one row
-- each, written when it handles the declaration: an event that comes back
-- with one of these journey ids (identity's AddressChanged of a return,
-- caused by abroad's own ResidenceAbroadEnded) is recognised as its own.
--   pivot_key        the declared person, as matched
--   country_code     the country left or settled in (INSEE COG, 99xxx);
--                    NULL for a return with no inscription to say it
--   happened_on      the departure_date or the return_date
--   registration_id  the inscription it opened or closed, NULL when none
CREATE TABLE residence_journeys (
    journey_id      uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('departure_abroad', 'return_to_france')),
    pivot_key       text NOT NULL,
    country_code    text,
    happened_on     date NOT NULL,
    registration_id uuid REFERENCES registrations,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX residence_journeys_pivot_key ON residence_journeys (pivot_key);
