-- Every recipient of a journey (DESIGN.md §11, transparency), as the
-- partners service tells it (RecipientNotified on mdv.partners.events.v1):
-- the partner, the fields of the projection it received, why (its legal
-- basis; mandatory, or chosen by the usager) and when it was notified and
-- acknowledged. One row per journey and partner step; the messages carry
-- the whole state, and the projection only ever fills a time that was
-- empty (projection_recipients.c), so their order does not matter.
CREATE TABLE journey_recipients (
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    step_code       text NOT NULL,
    partner         text NOT NULL,
    administration  text NOT NULL,
    fields          text[] NOT NULL,
    legal_basis     text NOT NULL,
    basis           text NOT NULL CHECK (basis IN ('mandatory', 'chosen')),
    notified_at     timestamptz NOT NULL,
    acknowledged_at timestamptz,
    PRIMARY KEY (journey_id, step_code)
);

-- The usager reads the fields a partner received under French labels: the
-- gateway's own words for the partners' field names (the projections'
-- protobuf field names, services/partners/rules/entitlements.tsv), joined
-- when the journey is read, so a label can be reworded without replaying
-- anything. tests/static/test_recipient_fields.py fails when a field of an
-- entitlement has no label here.
CREATE TABLE recipient_field_labels (
    name  text PRIMARY KEY,
    label text NOT NULL
);
INSERT INTO recipient_field_labels (name, label) VALUES
    ('journey_id', 'Référence de la démarche'),
    ('family_name', 'Nom de naissance'),
    ('given_names', 'Prénoms'),
    ('sex', 'Sexe'),
    ('birth_date', 'Date de naissance'),
    ('birth_place', 'Lieu de naissance'),
    ('death_date', 'Date du décès'),
    ('address_lines', 'Adresse'),
    ('postal_code', 'Code postal'),
    ('city', 'Commune'),
    ('effective_date', 'Date d''effet');
