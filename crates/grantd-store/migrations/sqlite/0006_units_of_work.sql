-- Apps change by compare-and-set on a revision, so no update is lost.
ALTER TABLE apps ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

-- The JWT credential a session was opened with: revoking it ends the session.
ALTER TABLE sessions ADD COLUMN credential_id TEXT;
CREATE INDEX sessions_credential_id ON sessions (credential_id)
    WHERE credential_id IS NOT NULL;
CREATE INDEX sessions_client_id ON sessions (client_id);
CREATE INDEX sessions_ended_at ON sessions (ended_at) WHERE ended_at IS NOT NULL;

-- The refresh grace window now runs from the rotation itself.
ALTER TABLE sessions DROP COLUMN pair_first_used_at;
