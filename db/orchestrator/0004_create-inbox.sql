-- Up Migration
-- Inbox (libs/messaging): a consumer records each message id in the same transaction as its effect;
-- the primary key turns a redelivery into a no-op.
CREATE TABLE inbox (
  consumer      text        NOT NULL,
  message_id    text        NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);

-- Down Migration
DROP TABLE inbox;
