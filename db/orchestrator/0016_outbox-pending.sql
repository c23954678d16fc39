-- Up Migration
-- The outbox's rows still owed to a broker are listed in outbox_pending; the relay reads them from
-- there in id order and deletes their entries once the broker has them (libs/messaging outbox.ts). An
-- outbox row is then written once and never updated: marking it published used to rewrite the whole
-- row (payload included) with an index entry in each index, a non-HOT update per message.
-- A statement-level trigger lists every inserted row, so every writer of the outbox (plain inserts,
-- one-statement CTE writes) is covered without knowing of it. Rows not yet published when this runs
-- are listed here; the retention job purges rows by age once they are not pending (created_at index).
CREATE TABLE outbox_pending (
  destination text   NOT NULL,
  id          bigint NOT NULL,
  PRIMARY KEY (destination, id)
);
INSERT INTO outbox_pending (destination, id) SELECT destination, id FROM outbox WHERE published_at IS NULL;

CREATE FUNCTION outbox_list_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbox_pending (destination, id) SELECT destination, id FROM inserted_outbox_rows;
  RETURN NULL;
END
$$;
CREATE TRIGGER outbox_list_pending AFTER INSERT ON outbox REFERENCING NEW TABLE AS inserted_outbox_rows
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_list_pending();

DROP INDEX outbox_unpublished_idx;
DROP INDEX outbox_published_idx;
ALTER TABLE outbox DROP COLUMN published_at;
CREATE INDEX outbox_created_idx ON outbox (created_at);

-- Down Migration
ALTER TABLE outbox ADD COLUMN published_at timestamptz;
UPDATE outbox SET published_at = now() WHERE NOT EXISTS (SELECT 1 FROM outbox_pending p WHERE p.id = outbox.id);
DROP INDEX outbox_created_idx;
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX outbox_unpublished_idx ON outbox (destination, id) WHERE published_at IS NULL;
DROP TRIGGER outbox_list_pending ON outbox;
DROP FUNCTION outbox_list_pending();
DROP TABLE outbox_pending;
