-- Which replica applied each effect: shows how a burst split across
-- instances of a scaled service.
ALTER TABLE applied_effects ADD COLUMN instance_id text;
