-- The labels of the fields the CNAV's CnavSurvivorClaim adds: the claimant
-- of the pension de réversion, the surviving spouse (their address uses the
-- labels of address_lines, postal_code and city).
INSERT INTO recipient_field_labels (name, label) VALUES
    ('claimant_family_name', 'Nom de naissance du demandeur'),
    ('claimant_given_names', 'Prénoms du demandeur'),
    ('claimant_sex', 'Sexe du demandeur'),
    ('claimant_birth_date', 'Date de naissance du demandeur'),
    ('claimant_birth_place', 'Lieu de naissance du demandeur'),
    ('claimant_usage_name', 'Nom d''usage du demandeur');
