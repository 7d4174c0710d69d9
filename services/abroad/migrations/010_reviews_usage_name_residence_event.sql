-- What abroad needs besides the registre itself:
--   residence_journeys.event_id  the ce_id of the ResidenceAbroadStarted or
--                  ResidenceAbroadEnded this journey published: an event
--                  another service sends back with it as mdv_causation_id
--                  (identity's AddressChanged of a return) was caused by
--                  abroad itself, and changes nothing twice
--   registrations.usage_name    the nom d'usage the person goes by, when
--                  identity said so (PersonNameChanged)
--   registration_reviews  one row per address_change journey that found
--                  the person on the registre: the inscription offered for
--                  closing (abroad.registration_reviewed, action_required),
--                  and when the usager confirmed it
ALTER TABLE residence_journeys ADD COLUMN event_id uuid;
ALTER TABLE registrations ADD COLUMN usage_name text;
CREATE TABLE registration_reviews (
    journey_id      uuid PRIMARY KEY,
    registration_id uuid NOT NULL REFERENCES registrations,
    effective_date  date NOT NULL, -- the day the person lives in France
    status          text NOT NULL CHECK (status IN ('offered', 'confirmed')),
    offered_at      timestamptz NOT NULL DEFAULT now(),
    confirmed_at    timestamptz
);
