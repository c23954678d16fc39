-- Up Migration
-- The holder of an Idempotency-Key claim (issue 13.6): a random token set by the claim and replaced by
-- a takeover. Renew, complete, release and unlock act only on a row that still carries the caller's
-- token, so a request whose claim was taken over can no longer touch the new holder's.
-- Nullable, so adding it rewrites nothing and an orchestrator not yet upgraded can still insert: a
-- NULL matches no token, and such a claim can only be taken over once its lock lapses.
ALTER TABLE idempotency_keys ADD COLUMN owner uuid;

-- Down Migration
ALTER TABLE idempotency_keys DROP COLUMN owner;
