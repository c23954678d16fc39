-- Up Migration
-- The retention job (libs/db createRetentionJob) deletes published outbox rows oldest first, a batch at
-- a time; this index finds them without a scan. Partial: unpublished rows (the relay's) are not in it.
-- A plain CREATE INDEX holds off writes to the outbox while it builds. Where the table has grown large,
-- build the same index by hand first with CREATE INDEX CONCURRENTLY: IF NOT EXISTS then skips it here.
CREATE INDEX IF NOT EXISTS outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Down Migration
DROP INDEX outbox_published_idx;
