-- PAR (RFC 9126), DPoP (RFC 9449) and the FAPI 2.0 profile.
-- An app's security settings as JSON: require_par, require_dpop, profile.
ALTER TABLE apps ADD COLUMN security TEXT NOT NULL DEFAULT '{}';

-- Pushed authorization requests, by the SHA-256 of their request_uri:
-- short-lived and used at most once (used_at set by compare-and-set).
CREATE TABLE pushed_requests (
    hash       BYTEA PRIMARY KEY,
    client_id  TEXT NOT NULL,
    params     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

-- DPoP key bindings (the JWK SHA-256 thumbprint) of what carries none in
-- itself: opaque access tokens, authorization codes (dpop_jkt) and the
-- refresh tokens of a public client's session. Kept until `expires_at`.
CREATE TABLE dpop_bindings (
    id         TEXT PRIMARY KEY,
    jkt        TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_bindings_expires_at ON dpop_bindings (expires_at);
