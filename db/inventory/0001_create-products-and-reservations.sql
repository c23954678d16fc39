-- Up Migration
-- Stock is two counters per product: on hand and reserved; available = on_hand - reserved.
-- The CHECKs are the last line of defence: no interleaving of requests can make stock negative.
CREATE TABLE products (
  sku          text        PRIMARY KEY,
  name         text        NOT NULL,
  price_cents  bigint      NOT NULL CHECK (price_cents >= 0),
  on_hand      integer     NOT NULL CHECK (on_hand >= 0),
  reserved     integer     NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (reserved <= on_hand)
);

-- One reservation outcome per order (all items or none): RESERVED, or REJECTED with the shortages, so
-- a retried ReserveStock answers what the first call decided. RESERVED -> RELEASED happens once: the
-- CHECK ties released_at to the status, and releases update only rows still RESERVED.
CREATE TABLE reservations (
  order_id     uuid        PRIMARY KEY,
  status       text        NOT NULL CHECK (status IN ('RESERVED', 'REJECTED', 'RELEASED')),
  shortages    jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  released_at  timestamptz,
  CHECK ((status = 'RELEASED') = (released_at IS NOT NULL)),
  CHECK ((status = 'REJECTED') = (shortages IS NOT NULL))
);

CREATE TABLE reservation_items (
  order_id  uuid    NOT NULL REFERENCES reservations (order_id) ON DELETE CASCADE,
  sku       text    NOT NULL REFERENCES products (sku),
  quantity  integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, sku)
);

-- Down Migration
DROP TABLE reservation_items;
DROP TABLE reservations;
DROP TABLE products;
