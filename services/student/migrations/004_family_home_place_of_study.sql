-- What the CROUS needs to act on a new address or a stay abroad:
--   home_postal_code, home_commune_code
--                     the family home (domicile familial) the distance
--                     points are counted from (INSEE COG commune code)
--   home_of           whose address the family home is: 'student' (an
--                     AddressChanged of the student moves it) or 'parent'
--   study_commune_code the place of study (INSEE COG commune code)
--   distance_km       family home to place of study, as last computed
--   distance_points   points de charge for that distance (0-4, barème in
--                     rules/; RULES-REFERENCE.md)
--   other_points      the other points de charge of the assessment
--                     (children at charge, disability...), kept so that
--                     the échelon can be re-computed when distance changes
--   resources         the revenu brut global (euros) the bourse was
--                     assessed on
--   bourse_status     'active', or 'suspended' while the student lives
--                     abroad outside a mobility of their French cursus
ALTER TABLE student_files
    ADD COLUMN home_postal_code text,
    ADD COLUMN home_commune_code text,
    ADD COLUMN home_of text CHECK (home_of IN ('student', 'parent')),
    ADD COLUMN study_commune_code text,
    ADD COLUMN distance_km integer CHECK (distance_km >= 0),
    ADD COLUMN distance_points smallint CHECK (distance_points BETWEEN 0 AND 4),
    ADD COLUMN other_points smallint CHECK (other_points >= 0),
    ADD COLUMN resources integer CHECK (resources >= 0),
    ADD COLUMN bourse_status text NOT NULL DEFAULT 'active'
        CHECK (bourse_status IN ('active', 'suspended'));
