-- RingCentral's browser apps and sessions.
-- An app's extra CORS origins (a JSON array of `scheme://host[:port]`;
-- a browser app's redirect URI origins are allowed without being listed).
ALTER TABLE apps ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';

-- RingCentral's endpoint_id, kept for the session: every refresh answers the
-- one the session opened with (NULL for sessions stored before).
ALTER TABLE sessions ADD COLUMN endpoint_id TEXT;
