-- Up Migration
-- Every dead letter, whichever broker or saga it came from, so an operator can list and replay them.
CREATE TABLE dead_letters (
  id               uuid        PRIMARY KEY,
  source           text        NOT NULL CHECK (source IN ('kafka', 'rabbitmq', 'saga')),
  origin           text        NOT NULL,
  message_key      text,
  message_id       text,
  -- Text, not jsonb: a poison message need not be JSON.
  payload          text        NOT NULL,
  headers          jsonb       NOT NULL DEFAULT '{}',
  error            text        NOT NULL,
  attempts         integer     NOT NULL CHECK (attempts >= 0),
  first_failed_at  timestamptz NOT NULL,
  last_failed_at   timestamptz NOT NULL,
  replayed_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_created_idx ON dead_letters (created_at DESC);

-- Down Migration
DROP TABLE dead_letters;
