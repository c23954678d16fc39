-- Up Migration
-- The retention job's scan of settled webhook deliveries (delivered, or skipped for a disabled
-- subscription), oldest first. Failed ones are kept like their dead letters.
CREATE INDEX IF NOT EXISTS webhook_deliveries_settled_idx ON webhook_deliveries (created_at) WHERE status IN ('delivered', 'skipped');

-- Down Migration
DROP INDEX webhook_deliveries_settled_idx;
