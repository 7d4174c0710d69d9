-- The usager's rating of a completed démarche, as Services Publics+ asks
-- it: a score from 0 to 10 and an optional comment. One per journey (the
-- primary key: a second rating, on any gateway replica, meets it).
CREATE TABLE journey_ratings (
    journey_id uuid PRIMARY KEY REFERENCES journeys,
    usager_id  text NOT NULL,
    score      smallint NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment    text,
    rated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
