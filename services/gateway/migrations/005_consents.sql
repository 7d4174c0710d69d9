-- The optional recipients a usager chose in a declaration: their consent,
-- what (the partner) and when (the declaration's acceptance). Shown on the
-- journey with each recipient; the partners service learns of it from
-- DeclarationSubmitted.recipients, through the domain event.
CREATE TABLE consents (
    journey_id uuid NOT NULL REFERENCES journeys (journey_id),
    partner    text NOT NULL,
    chosen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (journey_id, partner)
);
