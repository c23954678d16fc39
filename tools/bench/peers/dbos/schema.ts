// The DBOS peer's application database, created at start-up. Idempotent (IF NOT EXISTS), so a restart
// after a SIGKILL finds its data as the last commit left it. The constraints are orderflow's where the
// same fact is stored (db/inventory, db/order): stock can never go negative or be over-reserved.
// DBOS keeps its own tables: workflow state in the system database, and the transaction checkpoints
// (dbos.transaction_completion) here, created by the data source (pg-datasource.ts).
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

-- One order per workflow (workflow_id = caller + Idempotency-Key). placed_at is the time of the POST,
-- a workflow input; finished_at is set with the terminal status.
CREATE TABLE IF NOT EXISTS orders (
  id           uuid           PRIMARY KEY,
  workflow_id  text           NOT NULL UNIQUE,
  customer_id  text           NOT NULL,
  status       text           NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'REJECTED')),
  reason       text,
  total_cents  bigint         NOT NULL CHECK (total_cents >= 0),
  placed_at    timestamptz(3) NOT NULL,
  finished_at  timestamptz,
  CHECK ((status = 'PENDING') = (finished_at IS NULL)),
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

-- One row per e-mail file written (the primary key: one per order), committed after its file is on disk.
CREATE TABLE IF NOT EXISTS emails (
  order_id    uuid        PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
  written_at  timestamptz NOT NULL DEFAULT now()
);
`;
