-- Up Migration
-- Millisecond precision, as orders (db/order/0001): the saga search and the dead-letter list page by a
-- cursor carrying created_at as a JS date, which has no microseconds. With them, the rows after a
-- page's last one within its millisecond (every saga a group commit created, for one) compared later
-- than the cursor and were never listed. A saga's updated_at follows, so a new saga's two times stay
-- equal (both round now() alike). Rewrites both tables (values rounded to the millisecond).
ALTER TABLE sagas ALTER COLUMN created_at TYPE timestamptz(3), ALTER COLUMN updated_at TYPE timestamptz(3);
ALTER TABLE dead_letters ALTER COLUMN created_at TYPE timestamptz(3);

-- Down Migration
ALTER TABLE dead_letters ALTER COLUMN created_at TYPE timestamptz;
ALTER TABLE sagas ALTER COLUMN created_at TYPE timestamptz, ALTER COLUMN updated_at TYPE timestamptz;
