// The floor's whole database, created at start-up; idempotent, with orderflow's constraints, like the
// tables it shares with the DBOS peer (../peer-schema.ts).
import { ORDER_ITEMS_TABLE, PRODUCTS_TABLE } from '../peer-schema';

export const SCHEMA_SQL = `
${PRODUCTS_TABLE}
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
${ORDER_ITEMS_TABLE}
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
-- No foreign key to orders here: every row commits with its order, and the floor pays only for the
-- checks orderflow's own schema has.
CREATE TABLE IF NOT EXISTS emails (
  order_id    uuid        PRIMARY KEY,
  payload     jsonb       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  written_at  timestamptz
);
CREATE INDEX IF NOT EXISTS emails_pending_idx ON emails (created_at) WHERE written_at IS NULL;
`;
