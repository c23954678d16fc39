-- Up Migration
-- Partner API keys (X-API-Key). The key is shown once at creation and stored only as a SHA-256 hash
-- of its secret part; its id is part of the key, so a request finds its row by primary key and
-- compares the hashes in constant time. Revoked keys stay listed (revoked_at) and never authenticate.
CREATE TABLE api_keys (
  id              uuid           PRIMARY KEY,
  name            text           NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  secret_hash     bytea          NOT NULL,
  scopes          text[]         NOT NULL,
  -- Requests per minute for this key; NULL takes the partner default (API_KEY_RATE_PER_MINUTE).
  rate_per_minute integer        CHECK (rate_per_minute > 0),
  created_by      text           NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  revoked_at      timestamptz(3)
);
CREATE INDEX api_keys_created_idx ON api_keys (created_at DESC, id DESC);

-- Down Migration
DROP TABLE api_keys;
