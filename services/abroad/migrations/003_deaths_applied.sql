-- One row per death this service applied: the person as matched (the
-- normalised pivot identity) and the death date, with the journey that
-- applied it. The same death declared again, by another relative, meets
-- this key (shared/journey.c): nothing is applied twice, no second
-- applied_effects row, and its step says « Déjà pris en compte ». Deaths
-- applied before this migration are not listed.
CREATE TABLE deaths_applied (
    pivot_key  text NOT NULL,
    death_date date NOT NULL,
    journey_id uuid NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pivot_key, death_date)
);
