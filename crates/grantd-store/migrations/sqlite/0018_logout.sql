-- OpenID Connect logout (RP-initiated and back-channel) and resource indicators.
-- An app's links as JSON: post_logout_redirect_uris, backchannel_logout_uri,
-- backchannel_logout_session_required, resource_uris.
ALTER TABLE apps ADD COLUMN links TEXT NOT NULL DEFAULT '{}';

-- The browser sign-in (OIDC `sid`) a code was issued under, carried to the
-- session its exchange opens, so a logout ends that sign-in's sessions.
ALTER TABLE auth_codes ADD COLUMN sid TEXT;
ALTER TABLE sessions ADD COLUMN sid TEXT;
-- RFC 8707: the resources an authorization granted (a JSON array; NULL:
-- none named), carried from the code to its session for refreshes to narrow.
ALTER TABLE auth_codes ADD COLUMN resources TEXT;
ALTER TABLE sessions ADD COLUMN resources TEXT;
CREATE INDEX sessions_active_sid ON sessions (sid)
    WHERE sid IS NOT NULL AND ended_at IS NULL;

-- Back-channel logout deliveries: one row per (logout, app). A delivery is
-- claimed by moving next_attempt_at past now (a lease), so a node that dies
-- mid-delivery leaves it to be tried again.
CREATE TABLE logout_deliveries (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    sid             TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX logout_deliveries_client ON logout_deliveries (client_id, created_at);
