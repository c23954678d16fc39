-- Up Migration
-- One row per e-mail sent, keyed by the task's message id: the record that it went out exactly once.
CREATE TABLE emails (
  message_id  text        PRIMARY KEY,
  order_id    uuid        NOT NULL,
  template    text        NOT NULL,
  recipient   text        NOT NULL,
  subject     text        NOT NULL,
  sent_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX emails_order_idx ON emails (order_id);

-- Down Migration
DROP TABLE emails;
