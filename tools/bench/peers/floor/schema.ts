// The floor's whole database, created at start-up. Idempotent (IF NOT EXISTS), so a restart after a
// SIGKILL finds its data as the last commit left it. The constraints are orderflow's where the same
// fact is stored (db/inventory, db/order): stock can never go negative or be over-reserved.
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS products (
  sku          text        PRIMARY KEY,
  name         text        NOT NULL,
  price_cents  bigint      NOT NULL CHECK (price_cents >= 0),
  on_hand      integer     NOT NULL CHECK (on_hand >= 0),
  reserved     integer     NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (reserved <= on_hand)
);

-- Orders are terminal when they commit: CONFIRMED (stock reserved) or REJECTED (nothing reserved).
CREATE TABLE IF NOT EXISTS orders (
  id           uuid           PRIMARY KEY,
  customer_id  text           NOT NULL,
  status       text           NOT NULL CHECK (status IN ('CONFIRMED', 'REJECTED')),
  reason       text,
  total_cents  bigint         NOT NULL CHECK (total_cents >= 0),
  created_at   timestamptz(3) NOT NULL,
  CHECK (status <> 'REJECTED' OR reason IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS order_items (
  order_id          uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line              integer NOT NULL CHECK (line >= 0),
  sku               text    NOT NULL,
  quantity          integer NOT NULL CHECK (quantity > 0),
  unit_price_cents  bigint  NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line)
);

-- The claim inserts the key first and the same transaction stores the response, so a committed key
-- always has its response: no IN_FLIGHT state survives a crash (the transaction committed all or none).
CREATE TABLE IF NOT EXISTS idempotency_keys (
  caller            text        NOT NULL,
  key               text        NOT NULL,
  fingerprint       text        NOT NULL,
  order_id          uuid        NOT NULL,
  response_status   integer,
  response_headers  jsonb,
  response_body     bytea,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (caller, key)
);

-- One e-mail per order (the primary key); written_at is set only after its file is on disk.
-- No foreign keys to orders here or in order_items: every row commits with its order, and the floor
-- pays only for the checks orderflow's own schema has.
CREATE TABLE IF NOT EXISTS emails (
  order_id    uuid        PRIMARY KEY,
  payload     jsonb       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  written_at  timestamptz
);
CREATE INDEX IF NOT EXISTS emails_pending_idx ON emails (created_at) WHERE written_at IS NULL;
`;
