-- Up Migration
-- The retention job (libs/db createRetentionJob) deletes finished rows oldest first, a batch at a time;
-- these indexes let each batch find them without scanning the table. Partial where only finished rows
-- are purged, so the hot-path rows (unpublished, running, pending) add nothing to them.
-- A plain CREATE INDEX holds off writes to its table while it builds. Where a table has grown large,
-- build the same index by hand first with CREATE INDEX CONCURRENTLY: IF NOT EXISTS then skips it here.
CREATE INDEX IF NOT EXISTS outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS inbox_processed_idx ON inbox (processed_at);
CREATE INDEX IF NOT EXISTS sagas_finished_idx ON sagas (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS dead_letters_replayed_idx ON dead_letters (replayed_at) WHERE replayed_at IS NOT NULL;

-- Down Migration
DROP INDEX dead_letters_replayed_idx;
DROP INDEX sagas_finished_idx;
DROP INDEX inbox_processed_idx;
DROP INDEX outbox_published_idx;
