-- Up Migration
-- The orphan sweeper looks for placements whose request died (IN_FLIGHT, lock long lapsed): a small
-- partial index keeps that a lookup however many finished keys the table holds.
CREATE INDEX IF NOT EXISTS idempotency_keys_in_flight_idx ON idempotency_keys (locked_until) WHERE state = 'IN_FLIGHT';

-- Down Migration
DROP INDEX IF EXISTS idempotency_keys_in_flight_idx;
