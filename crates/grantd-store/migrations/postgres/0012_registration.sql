-- Dynamic client registration (RFC 7591, RFC 7592).
-- Initial access tokens an operator issues, by the SHA-256 of the token:
-- an optional expiry and number of registrations, counted in `uses`.
CREATE TABLE registration_tokens (
    id         TEXT PRIMARY KEY,
    label      TEXT NOT NULL,
    hash       BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    max_uses   BIGINT,
    uses       BIGINT NOT NULL DEFAULT 0,
    revoked_at BIGINT
);

-- The registration of an app that registered itself: the SHA-256 of its
-- registration access token, the RFC 7591 metadata kept beside the app
-- (JSON), and the initial access token it used. Deleted with the app.
CREATE TABLE client_registrations (
    client_id           TEXT PRIMARY KEY,
    token_hash          BYTEA NOT NULL,
    metadata            TEXT NOT NULL,
    initial_token_id    TEXT,
    initial_token_label TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
