-- The deaths applied move to the library's occurrences table (shared/
-- journey.c: an occurrence is applied once, whichever journey declares it);
-- a death's occurrence is "death|<pivot key>|<death date>".
INSERT INTO occurrences (occurrence, journey_id, applied_at)
SELECT 'death|' || pivot_key || '|' || to_char(death_date, 'YYYY-MM-DD'), journey_id, applied_at
FROM deaths_applied
ON CONFLICT DO NOTHING;
DROP TABLE deaths_applied;
