// The DBOS peer's application database, created at start-up; idempotent, with orderflow's constraints,
// like the tables it shares with the floor (../peer-schema.ts).
// DBOS keeps its own tables: workflow state in the system database, and the transaction checkpoints
// (dbos.transaction_completion) here, created by the data source (pg-datasource.ts).
import { ORDER_ITEMS_TABLE, PRODUCTS_TABLE } from '../peer-schema';

export const SCHEMA_SQL = `
${PRODUCTS_TABLE}
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
${ORDER_ITEMS_TABLE}
-- One row per e-mail file written (the primary key: one per order), committed after its file is on disk.
CREATE TABLE IF NOT EXISTS emails (
  order_id    uuid        PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
  written_at  timestamptz NOT NULL DEFAULT now()
);
`;
