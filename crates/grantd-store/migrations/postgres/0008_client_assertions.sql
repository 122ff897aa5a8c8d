-- Client authentication with a JWT (private_key_jwt, RFC 7523 §2.2).
-- An app's public keys (a JSON Web Key Set; NULL: the app does not use
-- private_key_jwt).
ALTER TABLE apps ADD COLUMN jwks TEXT;

-- The jti of every client assertion accepted, until the assertion expires:
-- a second use of one is a replay.
CREATE TABLE client_assertion_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT client_assertion_jtis_pkey PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertion_jtis_expires_at ON client_assertion_jtis (expires_at);
