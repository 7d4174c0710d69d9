-- The label of the field the CNAV's CnavSurvivorClaim adds: the day the
-- surviving spouse confirmed the pension de réversion claim.
INSERT INTO recipient_field_labels (name, label) VALUES
    ('claimed_on', 'Date de la demande');
