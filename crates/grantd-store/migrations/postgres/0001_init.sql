-- grantd's schema (PostgreSQL): the same tables and columns as SQLite's after
-- its migration 0006, so both backends decode rows alike. Timestamps are Unix
-- seconds (BIGINT); list columns hold JSON arrays of strings as TEXT; hashes
-- are raw SHA-256 digests. Unique constraints are named because the store
-- tells which key an insert clashed with by the constraint's name.

CREATE TABLE settings (
    key   TEXT NOT NULL CONSTRAINT settings_pkey PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id         TEXT NOT NULL CONSTRAINT accounts_pkey PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Apps change by compare-and-set on `revision`, so no update is lost.
CREATE TABLE apps (
    client_id            TEXT NOT NULL CONSTRAINT apps_pkey PRIMARY KEY,
    account_id           TEXT NOT NULL REFERENCES accounts (id),
    name                 TEXT NOT NULL,
    platform_type        TEXT NOT NULL,
    grants               TEXT NOT NULL,  -- JSON array of grant names
    redirect_uris        TEXT NOT NULL,  -- JSON array of URIs
    scopes               TEXT NOT NULL,  -- JSON array of scope names
    distribution         TEXT NOT NULL,
    issue_refresh_tokens BOOLEAN NOT NULL,
    access_token_ttl     BIGINT NOT NULL CHECK (access_token_ttl >= 0),
    refresh_token_ttl    BIGINT NOT NULL CHECK (refresh_token_ttl >= 0),
    access_token_format  TEXT NOT NULL,
    allow_plain_pkce     BOOLEAN NOT NULL DEFAULT FALSE,
    resource_server      BOOLEAN NOT NULL DEFAULT FALSE,
    secret_hash          BYTEA CHECK (secret_hash IS NULL OR octet_length(secret_hash) = 32),
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    revision             BIGINT NOT NULL DEFAULT 1
);

CREATE INDEX apps_account_id ON apps (account_id);

CREATE TABLE signing_keys (
    kid            TEXT NOT NULL CONSTRAINT signing_keys_pkey PRIMARY KEY,
    alg            TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    sealed_private BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT
);

-- Opaque access tokens and refresh tokens. No foreign key to apps: deleting
-- an app deletes its tokens explicitly. Refresh tokens carry their rotation:
-- when the token was exchanged, the sealed response of that exchange (for
-- the grace-window replay), and the access token issued with it.
CREATE TABLE tokens (
    hash                   BYTEA NOT NULL CONSTRAINT tokens_pkey PRIMARY KEY
                           CHECK (octet_length(hash) = 32),
    kind                   TEXT NOT NULL,
    id                     TEXT NOT NULL CONSTRAINT tokens_id_key UNIQUE,
    client_id              TEXT NOT NULL,
    subject                TEXT NOT NULL,
    account_id             TEXT,
    session_id             TEXT,
    scope                  TEXT NOT NULL,
    issued_at              BIGINT NOT NULL,
    expires_at             BIGINT NOT NULL,
    revoked_at             BIGINT,
    rotated_at             BIGINT,
    replay                 BYTEA,
    pair_access_id         TEXT,
    pair_access_expires_at BIGINT
);

CREATE INDEX tokens_client_id ON tokens (client_id);
CREATE INDEX tokens_session_id ON tokens (session_id);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE revoked_jtis (
    jti        TEXT NOT NULL CONSTRAINT revoked_jtis_pkey PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);

CREATE INDEX revoked_jtis_expires_at ON revoked_jtis (expires_at);

-- Emails are stored as core normalised them (lower-case); NULLs are not
-- equal, so many users may have none (and many none an extension number).
CREATE TABLE users (
    id               TEXT NOT NULL CONSTRAINT users_pkey PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    email            TEXT CONSTRAINT users_email_key UNIQUE,
    phone            TEXT,
    extension_number TEXT,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL,
    status           TEXT NOT NULL,
    password_hash    TEXT,
    created_at       BIGINT NOT NULL,
    CONSTRAINT users_extension_key UNIQUE (account_id, extension_number)
);

CREATE INDEX users_phone ON users (phone);

-- One row per user with failed passwords; deleted on success.
CREATE TABLE login_failures (
    user_id           TEXT NOT NULL CONSTRAINT login_failures_pkey PRIMARY KEY,
    failures          BIGINT NOT NULL CHECK (failures >= 0),
    window_started_at BIGINT NOT NULL,
    locked_until      BIGINT
);

CREATE TABLE jwt_credentials (
    id           TEXT NOT NULL CONSTRAINT jwt_credentials_pkey PRIMARY KEY,
    user_id      TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    label        TEXT NOT NULL,
    allowed_apps TEXT,  -- JSON array of client ids; NULL = every app of the account
    expires_at   BIGINT,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);

CREATE INDEX jwt_credentials_user_id ON jwt_credentials (user_id);

-- A user's sign-in to one app. `credential_id` is the JWT credential it was
-- opened with: revoking the credential ends the session.
CREATE TABLE sessions (
    id            TEXT NOT NULL CONSTRAINT sessions_pkey PRIMARY KEY,
    user_id       TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    scope         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    ended_at      BIGINT,
    end_reason    TEXT,
    credential_id TEXT
);

-- The active sessions of a user (with an app): the session cap, ending a user's sessions.
CREATE INDEX sessions_active_user_client ON sessions (user_id, client_id)
    WHERE ended_at IS NULL;
CREATE INDEX sessions_credential_id ON sessions (credential_id)
    WHERE credential_id IS NOT NULL;
CREATE INDEX sessions_client_id ON sessions (client_id);
CREATE INDEX sessions_ended_at ON sessions (ended_at) WHERE ended_at IS NOT NULL;

-- A code is used at most once: `used_at` is set by a compare-and-set,
-- `replayed_at` records the first time it was presented again (the exchange
-- checks it before storing its session), and `session_id` the session its
-- exchange opened (a replay ends it). No foreign keys, like tokens: codes
-- expire within minutes and are purged.
CREATE TABLE auth_codes (
    hash                  BYTEA NOT NULL CONSTRAINT auth_codes_pkey PRIMARY KEY
                          CHECK (octet_length(hash) = 32),
    client_id             TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    account_id            TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    redirect_uri_sent     BOOLEAN NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,  -- 'S256' or 'plain'; checked by grantd-core
    auth_time             BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT,
    session_id            TEXT,
    replayed_at           BIGINT
);

CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);
CREATE INDEX auth_codes_client_id ON auth_codes (client_id);

-- One standing consent per (user, app); granting again replaces it.
CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,  -- space-separated scopes granted
    granted_at BIGINT NOT NULL,
    CONSTRAINT consents_pkey PRIMARY KEY (user_id, client_id)
);

CREATE INDEX consents_client_id ON consents (client_id);

-- The sign-in cookie of a browser, by the hash of its value.
CREATE TABLE browser_sessions (
    hash       BYTEA NOT NULL CONSTRAINT browser_sessions_pkey PRIMARY KEY
               CHECK (octet_length(hash) = 32),
    user_id    TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX browser_sessions_expires_at ON browser_sessions (expires_at);
