-- The usager may keep a file under review (StepConfirmed choice "keep"):
-- the review is closed, the files stay open.
ALTER TABLE residence_reviews DROP CONSTRAINT residence_reviews_status_check;
ALTER TABLE residence_reviews ADD CONSTRAINT residence_reviews_status_check
    CHECK (status IN ('pending', 'withdrawn', 'kept'));
