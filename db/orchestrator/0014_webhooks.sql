-- Up Migration
-- Signed webhooks (issue 19): partner URLs subscribed to fact types, and one delivery per fact per
-- subscription. The secret is kept as issued: signing (HMAC-SHA256, Standard Webhooks) needs it.
CREATE TABLE webhook_subscriptions (
  id              uuid           PRIMARY KEY,
  url             text           NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  events          text[]         NOT NULL CHECK (cardinality(events) >= 1),
  description     text           CHECK (length(description) <= 500),
  secret          text           NOT NULL,
  enabled         boolean        NOT NULL DEFAULT true,
  -- Why it was disabled: `gone` when its receiver answered 410, `admin` by a PATCH.
  disabled_reason text           CHECK (disabled_reason IN ('gone', 'admin')),
  created_by      text           NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  updated_at      timestamptz(3) NOT NULL DEFAULT now(),
  CHECK (enabled = (disabled_reason IS NULL))
);
CREATE INDEX webhook_subscriptions_created_idx ON webhook_subscriptions (created_at DESC, id DESC);
-- The dispatcher's read for every fact: the enabled subscriptions to its type.
CREATE INDEX webhook_subscriptions_events_idx ON webhook_subscriptions USING gin (events) WHERE enabled;

-- The exactly-once anchor: a fact seen twice (Kafka redelivery) inserts nothing the second time.
CREATE TABLE webhook_deliveries (
  id               uuid           PRIMARY KEY,
  subscription_id  uuid           NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
  event_id         uuid           NOT NULL,
  event_type       text           NOT NULL,
  status           text           NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
  attempts         integer        NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_status_code integer,
  last_error       text,
  last_attempt_at  timestamptz(3),
  delivered_at     timestamptz(3),
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, created_at DESC, id DESC);

-- Down Migration
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
