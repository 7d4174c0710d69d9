-- A mandate ended before its day was over (POST /v1/mandates/{id}/end):
-- when, and by whom (its agent, or the usager it names). Ending it also
-- sets expires_at to that instant, which every rule already reads.
ALTER TABLE mandates
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN ended_by text CHECK (ended_by IN ('agent', 'usager')),
    ADD CHECK ((ended_at IS NULL) = (ended_by IS NULL));
