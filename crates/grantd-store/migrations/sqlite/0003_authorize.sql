-- The authorization-code flow: the plain-PKCE opt-in of apps, authorization
-- codes, users' consents, and signed-in browsers. Timestamps are Unix
-- seconds; hashes are raw SHA-256 digests (codes and cookies are never stored
-- in clear).

-- Existing apps keep S256-only PKCE.
ALTER TABLE apps ADD COLUMN allow_plain_pkce INTEGER NOT NULL DEFAULT 0
    CHECK (allow_plain_pkce IN (0, 1));

-- A code is used at most once: `used_at` is set by a compare-and-set, and
-- `session_id` records the session its exchange opened (a replay ends it).
-- No foreign keys, like tokens: codes expire within minutes and are purged.
CREATE TABLE auth_codes (
    hash                  BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),
    client_id             TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    account_id            TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    redirect_uri_sent     INTEGER NOT NULL CHECK (redirect_uri_sent IN (0, 1)),
    scope                 TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,  -- 'S256' or 'plain'; checked by grantd-core
    auth_time             INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER,
    session_id            TEXT
) STRICT;

CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);

-- One standing consent per (user, app); granting again replaces it.
CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,  -- space-separated scopes granted
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;

-- The sign-in cookie of a browser, by the hash of its value.
CREATE TABLE browser_sessions (
    hash       BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),
    user_id    TEXT NOT NULL,
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX browser_sessions_expires_at ON browser_sessions (expires_at);
