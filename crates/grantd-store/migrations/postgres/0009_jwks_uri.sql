-- private_key_jwt with keys fetched from the app's own URL (RFC 7591
-- jwks_uri) instead of a key set registered inline. NULL: none. An app has
-- at most one of jwks and jwks_uri (checked when the app is written).
ALTER TABLE apps ADD COLUMN jwks_uri TEXT;
