-- Up Migration
-- The inbox (0001) was never written: the e-mail worker is idempotent by task id (the emails primary
-- key, apps/notification/src/db/email-log.ts), so there is nothing for it to de-duplicate
-- (docs/architecture.md, section 4).
-- A release still running only logs a failed purge of this table each retention round until it is replaced.
DROP TABLE IF EXISTS inbox;

-- Down Migration
CREATE TABLE inbox (
  consumer      text        NOT NULL,
  message_id    text        NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX inbox_processed_idx ON inbox (processed_at);
