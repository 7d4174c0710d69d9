-- The steps the owners' plans give the CROUS, noted from their
-- journey_planned (shared/reaction.c): an AddressChanged under a journey
-- whose plan has no student.address_updated (a return to France, already
-- acted on through ResidenceAbroadEnded) applies nothing and adds no step.
CREATE TABLE planned_steps (
    journey_id uuid NOT NULL,
    code       text NOT NULL,
    PRIMARY KEY (journey_id, code)
);
-- The student's nom d'usage, as PersonNameChanged last gave it (NULL: none).
ALTER TABLE student_files ADD COLUMN usage_name text;
