// The tables both benchmark peers define alike, for their schema.ts to put in its SCHEMA_SQL. Idempotent
// (IF NOT EXISTS): a restart after a SIGKILL finds the data as the last commit left it. The constraints
// are orderflow's where the same fact is stored (db/inventory, db/order): stock can never go negative
// or be over-reserved. `orders` differs between the peers and stays in each schema.ts.

export const PRODUCTS_TABLE = `
CREATE TABLE IF NOT EXISTS products (
  sku          text        PRIMARY KEY,
  name         text        NOT NULL,
  price_cents  bigint      NOT NULL CHECK (price_cents >= 0),
  on_hand      integer     NOT NULL CHECK (on_hand >= 0),
  reserved     integer     NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (reserved <= on_hand)
);
`;

/** Lines in the order they were sent (`line` from 0); after the peer's `orders`, which it references. */
export const ORDER_ITEMS_TABLE = `
CREATE TABLE IF NOT EXISTS order_items (
  order_id          uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line              integer NOT NULL CHECK (line >= 0),
  sku               text    NOT NULL,
  quantity          integer NOT NULL CHECK (quantity > 0),
  unit_price_cents  bigint  NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line)
);
`;
