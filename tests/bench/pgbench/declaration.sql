-- One bereavement declaration's SQL, as the suite runs it (pgbench script; one
-- run of the script = one declaration). Derived from the statements the
-- services ran for one bereavement declaration of a person known to every
-- service, logged once with log_statement = all (and read against the code:
-- shared/inbox.c, shared/outbox.c, services/*/): 28 transactions (22 in
-- BEGIN ... COMMIT, 6 relay deletes on their own), in the same order, with
-- the same statements, against tables of the same shape (schema.sql); the
-- services' own records stand as one `records` row each.
-- The relays' read-only polls are left out. pgbench's transactions per
-- second for this script is the declarations per second the database alone
-- would allow with the suite's transactions as they are.
\set n random(1, 1000000000)
-- gateway: POST /v1/declarations
BEGIN;
INSERT INTO journeys (journey_id, usager_id, kind) VALUES (gen_random_uuid(), 'bench-' || :n, 'bereavement') RETURNING journey_id AS j \gset
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'declaration_submitted', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS g1 \gset
SELECT pg_notify('mdv_outbox', '');
COMMIT;
-- gateway's relay
DELETE FROM outbox WHERE seq = ANY(ARRAY[:g1]::bigint[]);
-- bereavement: the death recorded, the plan, two steps, the survivor claim
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/gateway', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
INSERT INTO records (journey_id, pivot_key, detail) VALUES (':j', 'KEY|' || :n, 'death');
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'journey_planned', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS b1 \gset
SELECT pg_notify('mdv_outbox', '');
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'death_recorded', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS b2 \gset
SELECT pg_notify('mdv_outbox', '');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'bereavement.death_recorded', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS b3 \gset
SELECT pg_notify('mdv_outbox', '');
INSERT INTO records (journey_id, pivot_key, detail) VALUES (gen_random_uuid(), 'KEY|' || :n, 'claim');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'bereavement.survivor_pension', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS b4 \gset
SELECT pg_notify('mdv_outbox', '');
COMMIT;
-- bereavement's relay
DELETE FROM outbox WHERE seq = ANY(ARRAY[:b1, :b2, :b3, :b4]::bigint[]);
-- identity, abroad, housing: the DeclarationSubmitted of a kind they do not own (an inbox row each)
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/gateway', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/gateway', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/gateway', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
COMMIT;
-- identity, abroad, housing, student: DeathRecorded applied, two step reports each, and their relays
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/bereavement', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
INSERT INTO occurrences (occurrence, journey_id) VALUES ('death|identity|' || ':j', ':j') ON CONFLICT DO NOTHING;
INSERT INTO records (journey_id, pivot_key, detail) VALUES (gen_random_uuid(), 'KEY|' || :n, 'identity') ON CONFLICT DO NOTHING;
INSERT INTO applied_effects (journey_id, effect, status, detail) VALUES (':j', 'identity.step', 'done', 'applied');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'identity.step', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS i1 \gset
SELECT pg_notify('mdv_outbox', '');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'identity.step', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS i2 \gset
SELECT pg_notify('mdv_outbox', '');
COMMIT;
DELETE FROM outbox WHERE seq = ANY(ARRAY[:i1, :i2]::bigint[]);
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/bereavement', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
INSERT INTO occurrences (occurrence, journey_id) VALUES ('death|abroad|' || ':j', ':j') ON CONFLICT DO NOTHING;
INSERT INTO records (journey_id, pivot_key, detail) VALUES (gen_random_uuid(), 'KEY|' || :n, 'abroad') ON CONFLICT DO NOTHING;
INSERT INTO applied_effects (journey_id, effect, status, detail) VALUES (':j', 'abroad.step', 'done', 'applied');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'abroad.step', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS a1 \gset
SELECT pg_notify('mdv_outbox', '');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'abroad.step', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS a2 \gset
SELECT pg_notify('mdv_outbox', '');
COMMIT;
DELETE FROM outbox WHERE seq = ANY(ARRAY[:a1, :a2]::bigint[]);
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/bereavement', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
INSERT INTO occurrences (occurrence, journey_id) VALUES ('death|housing|' || ':j', ':j') ON CONFLICT DO NOTHING;
INSERT INTO records (journey_id, pivot_key, detail) VALUES (gen_random_uuid(), 'KEY|' || :n, 'housing') ON CONFLICT DO NOTHING;
INSERT INTO applied_effects (journey_id, effect, status, detail) VALUES (':j', 'housing.step', 'done', 'applied');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'housing.step', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS h1 \gset
SELECT pg_notify('mdv_outbox', '');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'housing.step', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS h2 \gset
SELECT pg_notify('mdv_outbox', '');
COMMIT;
DELETE FROM outbox WHERE seq = ANY(ARRAY[:h1, :h2]::bigint[]);
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/bereavement', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
INSERT INTO occurrences (occurrence, journey_id) VALUES ('death|student|' || ':j', ':j') ON CONFLICT DO NOTHING;
INSERT INTO records (journey_id, pivot_key, detail) VALUES (gen_random_uuid(), 'KEY|' || :n, 'student') ON CONFLICT DO NOTHING;
INSERT INTO applied_effects (journey_id, effect, status, detail) VALUES (':j', 'student.step', 'done', 'applied');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'student.step', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS s1 \gset
SELECT pg_notify('mdv_outbox', '');
INSERT INTO step_sequences (journey_id, code, last) VALUES (':j', 'student.step', 1) ON CONFLICT (journey_id, code) DO UPDATE SET last = step_sequences.last + 1 RETURNING last;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, topic, headers) VALUES (gen_random_uuid(), 'journey', ':j', 'step_reported', decode(repeat('0a24', 120), 'hex'), 'mdv.bench.v1', '{"ce_source": "/mdv/bench", "mdv_journey_id": "x"}') RETURNING seq AS s2 \gset
SELECT pg_notify('mdv_outbox', '');
COMMIT;
DELETE FROM outbox WHERE seq = ANY(ARRAY[:s1, :s2]::bigint[]);
-- gateway's projection: the plan with its six steps
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/bereavement', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR true, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps (journey_id, code, position, administration, label, due_at) VALUES (':j', 'bereavement.death_recorded', 0, 'Administration', 'Étape', now() + interval '30 days') ON CONFLICT (journey_id, code) DO UPDATE SET position = EXCLUDED.position, administration = EXCLUDED.administration, label = EXCLUDED.label, due_at = EXCLUDED.due_at;
INSERT INTO journey_steps (journey_id, code, position, administration, label, due_at) VALUES (':j', 'identity.documents_cancelled', 1, 'Administration', 'Étape', now() + interval '30 days') ON CONFLICT (journey_id, code) DO UPDATE SET position = EXCLUDED.position, administration = EXCLUDED.administration, label = EXCLUDED.label, due_at = EXCLUDED.due_at;
INSERT INTO journey_steps (journey_id, code, position, administration, label, due_at) VALUES (':j', 'abroad.registration_closed', 2, 'Administration', 'Étape', now() + interval '30 days') ON CONFLICT (journey_id, code) DO UPDATE SET position = EXCLUDED.position, administration = EXCLUDED.administration, label = EXCLUDED.label, due_at = EXCLUDED.due_at;
INSERT INTO journey_steps (journey_id, code, position, administration, label, due_at) VALUES (':j', 'student.files_updated', 3, 'Administration', 'Étape', now() + interval '30 days') ON CONFLICT (journey_id, code) DO UPDATE SET position = EXCLUDED.position, administration = EXCLUDED.administration, label = EXCLUDED.label, due_at = EXCLUDED.due_at;
INSERT INTO journey_steps (journey_id, code, position, administration, label, due_at) VALUES (':j', 'housing.files_suspended', 4, 'Administration', 'Étape', now() + interval '30 days') ON CONFLICT (journey_id, code) DO UPDATE SET position = EXCLUDED.position, administration = EXCLUDED.administration, label = EXCLUDED.label, due_at = EXCLUDED.due_at;
INSERT INTO journey_steps (journey_id, code, position, administration, label, due_at) VALUES (':j', 'bereavement.survivor_pension', 5, 'Administration', 'Étape', now() + interval '30 days') ON CONFLICT (journey_id, code) DO UPDATE SET position = EXCLUDED.position, administration = EXCLUDED.administration, label = EXCLUDED.label, due_at = EXCLUDED.due_at;
COMMIT;
-- gateway's projection: each step received, then final (one transaction per report)
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'bereavement.death_recorded', 'received', 1, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'bereavement.death_recorded', 'done', 2, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'identity.documents_cancelled', 'received', 1, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'identity.documents_cancelled', 'done', 2, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'abroad.registration_closed', 'received', 1, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'abroad.registration_closed', 'done', 2, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'student.files_updated', 'received', 1, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'student.files_updated', 'done', 2, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'housing.files_suspended', 'received', 1, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'housing.files_suspended', 'done', 2, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'bereavement.survivor_pension', 'received', 1, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
BEGIN;
INSERT INTO inbox (ce_source, ce_id) VALUES ('/mdv/service', gen_random_uuid()::text) ON CONFLICT DO NOTHING;
UPDATE journeys SET planned = planned OR false, updated_at = greatest(updated_at, clock_timestamp()) WHERE journey_id = ':j';
INSERT INTO journey_steps AS s (journey_id, code, status, sequence, detail, received_at, updated_at) VALUES (':j', 'bereavement.survivor_pension', 'done', 2, 'Détail', clock_timestamp(), clock_timestamp()) ON CONFLICT (journey_id, code) DO UPDATE SET received_at = least(s.received_at, EXCLUDED.received_at), status = EXCLUDED.status, sequence = EXCLUDED.sequence, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at WHERE s.sequence < EXCLUDED.sequence;
COMMIT;
