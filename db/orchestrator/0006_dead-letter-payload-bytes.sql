-- Up Migration
-- A dead letter's payload byte for byte: text refused a poison message with a NUL byte (or bytes that
-- are not UTF-8), the collector's insert failed for ever and everything behind it on that partition or
-- queue stayed unlisted. Existing rows keep their text as its UTF-8 bytes.
ALTER TABLE dead_letters ALTER COLUMN payload TYPE bytea USING convert_to(payload, 'UTF8');
-- A Kafka key that is not text is kept as base64 in message_key; headers whose value is not text keep
-- it as base64 in `headers` and are named here. Replay decodes both back to the original bytes.
ALTER TABLE dead_letters
  ADD COLUMN key_encoding   text   NOT NULL DEFAULT 'utf8' CHECK (key_encoding IN ('utf8', 'base64')),
  ADD COLUMN base64_headers text[] NOT NULL DEFAULT '{}';

-- Down Migration
-- Back to text: a payload that is not UTF-8 text (a NUL byte, invalid bytes) becomes 'base64:<its base64>'.
CREATE FUNCTION pg_temp.dead_letter_payload_text(payload bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN convert_from(payload, 'UTF8');
EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
  RETURN 'base64:' || translate(encode(payload, 'base64'), E'\n', '');
END
$$;
ALTER TABLE dead_letters ALTER COLUMN payload TYPE text USING pg_temp.dead_letter_payload_text(payload);
ALTER TABLE dead_letters DROP COLUMN base64_headers, DROP COLUMN key_encoding;
