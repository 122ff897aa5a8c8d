-- The rejection log: refused requests to the OAuth endpoints, per app, with
-- their cause and decision trace (never a secret). `seq` orders an app's log;
-- the store keeps the newest 1,000 per app.
CREATE TABLE rejections (
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    grant_type TEXT,
    code TEXT NOT NULL,
    description TEXT NOT NULL,
    client_ip TEXT,
    user_agent TEXT,
    trace TEXT NOT NULL,
    PRIMARY KEY (client_id, seq)
);
CREATE INDEX rejections_request_id ON rejections (request_id);
