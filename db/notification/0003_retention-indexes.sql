-- Up Migration
-- The retention job (libs/db createRetentionJob) deletes old e-mail log and inbox rows oldest first, a
-- batch at a time; these indexes find them without a scan.
-- A plain CREATE INDEX holds off writes to its table while it builds. Where a table has grown large,
-- build the same index by hand first with CREATE INDEX CONCURRENTLY: IF NOT EXISTS then skips it here.
CREATE INDEX IF NOT EXISTS emails_sent_idx ON emails (sent_at);
CREATE INDEX IF NOT EXISTS inbox_processed_idx ON inbox (processed_at);

-- Down Migration
DROP INDEX inbox_processed_idx;
DROP INDEX emails_sent_idx;
