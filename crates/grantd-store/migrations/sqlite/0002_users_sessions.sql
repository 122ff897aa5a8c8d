-- Users, failed-password bookkeeping, JWT credentials, sessions, and refresh
-- token rotation. Timestamps are Unix seconds.

-- Refresh tokens: when the token was exchanged, the sealed response of that
-- exchange (for the grace-window replay), and the access token issued with it.
ALTER TABLE tokens ADD COLUMN rotated_at INTEGER;
ALTER TABLE tokens ADD COLUMN replay BLOB;
ALTER TABLE tokens ADD COLUMN pair_access_id TEXT;
ALTER TABLE tokens ADD COLUMN pair_access_expires_at INTEGER;
-- tokens (session_id) is indexed since 0001.

-- The email is stored lower-cased by the store; NOCASE also folds ASCII for
-- rows written by hand. NULLs are not equal, so many users may have none.
CREATE TABLE users (
    id               TEXT PRIMARY KEY NOT NULL,
    account_id       TEXT NOT NULL REFERENCES accounts (id),
    email            TEXT COLLATE NOCASE UNIQUE,
    phone            TEXT,
    extension_number TEXT,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL,
    status           TEXT NOT NULL,
    password_hash    TEXT,
    created_at       INTEGER NOT NULL,
    UNIQUE (account_id, extension_number)
) STRICT;

CREATE INDEX users_phone ON users (phone);

-- One row per user with failed passwords; deleted on success.
CREATE TABLE login_failures (
    user_id           TEXT PRIMARY KEY NOT NULL,
    failures          INTEGER NOT NULL CHECK (failures >= 0),
    window_started_at INTEGER NOT NULL,
    locked_until      INTEGER
) STRICT;

CREATE TABLE jwt_credentials (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    label        TEXT NOT NULL,
    allowed_apps TEXT,  -- JSON array of client ids; NULL = every app of the account
    expires_at   INTEGER,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX jwt_credentials_user_id ON jwt_credentials (user_id);

CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY NOT NULL,
    user_id            TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    account_id         TEXT NOT NULL,
    scope              TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    ended_at           INTEGER,
    end_reason         TEXT,
    pair_first_used_at INTEGER
) STRICT;

CREATE INDEX sessions_user_client_ended ON sessions (user_id, client_id, ended_at);
