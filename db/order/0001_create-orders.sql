-- Up Migration
-- Orders owned by the order service. Status changes follow the machine in libs/domain; the CHECKs
-- make sure no code path can store an impossible order.
CREATE TABLE orders (
  id           uuid PRIMARY KEY,
  customer_id  text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED')),
  reason       text,
  total_cents  bigint      NOT NULL CHECK (total_cents >= 0),
  -- Millisecond precision: list cursors carry created_at as a JS date, which has no microseconds.
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  CHECK (status <> 'REJECTED' OR reason IS NOT NULL)
);
-- Keyset pagination per customer, newest first.
CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);

CREATE TABLE order_items (
  order_id          uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line              integer NOT NULL CHECK (line >= 0),
  sku               text    NOT NULL,
  quantity          integer NOT NULL CHECK (quantity > 0),
  unit_price_cents  bigint  NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line)
);

-- Down Migration
DROP TABLE order_items;
DROP TABLE orders;
