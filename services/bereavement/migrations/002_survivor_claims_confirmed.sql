-- When the surviving spouse confirmed the pre-filled claim.
ALTER TABLE survivor_claims ADD COLUMN confirmed_at timestamptz;
