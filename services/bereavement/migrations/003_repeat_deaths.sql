-- A death is recorded once. Another relative who declares it again (the
-- same person, as matched: the pivot identity normalised by shared/pivot.c,
-- and the same death date) gets a journey of their own, whose record points
-- to the first one (repeat_of); the unique index makes two declarations
-- processed at once meet, so one of them is the first. Records made before
-- this migration have no key: they are never taken for the first record of
-- a later declaration.
ALTER TABLE death_records ADD COLUMN pivot_key text;
ALTER TABLE death_records ADD COLUMN repeat_of uuid REFERENCES death_records;
CREATE UNIQUE INDEX death_records_one_per_death ON death_records (pivot_key, death_date)
    WHERE repeat_of IS NULL;

-- One pension de réversion claim offered per deceased person (pivot key),
-- whichever declaration offered it, and whatever death date a later one
-- gives. Claims offered before this migration have no key.
ALTER TABLE survivor_claims ADD COLUMN deceased_key text;
ALTER TABLE survivor_claims ADD CONSTRAINT survivor_claims_one_per_deceased UNIQUE (deceased_key);
