-- grantd's first schema (SQLite). Timestamps are Unix seconds; JSON columns
-- hold arrays of strings; hashes are raw SHA-256 digests.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE apps (
    client_id            TEXT PRIMARY KEY NOT NULL,
    account_id           TEXT NOT NULL REFERENCES accounts (id),
    name                 TEXT NOT NULL,
    platform_type        TEXT NOT NULL,
    grants               TEXT NOT NULL,  -- JSON array of grant names
    redirect_uris        TEXT NOT NULL,  -- JSON array of URIs
    scopes               TEXT NOT NULL,  -- JSON array of scope names
    distribution         TEXT NOT NULL,
    issue_refresh_tokens INTEGER NOT NULL CHECK (issue_refresh_tokens IN (0, 1)),
    access_token_ttl     INTEGER NOT NULL CHECK (access_token_ttl >= 0),
    refresh_token_ttl    INTEGER NOT NULL CHECK (refresh_token_ttl >= 0),
    access_token_format  TEXT NOT NULL,
    secret_hash          BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

CREATE INDEX apps_account_id ON apps (account_id);

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY NOT NULL,
    alg            TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    sealed_private BLOB NOT NULL,
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER
) STRICT;

-- No foreign key to apps: deleting an app deletes its tokens explicitly.
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL UNIQUE,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    account_id TEXT,
    session_id TEXT,
    scope      TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE INDEX tokens_client_id ON tokens (client_id);
CREATE INDEX tokens_session_id ON tokens (session_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE revoked_jtis (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL
) STRICT;

CREATE INDEX revoked_jtis_expires_at ON revoked_jtis (expires_at);
