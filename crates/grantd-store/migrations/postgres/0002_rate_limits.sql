-- The same as SQLite's migration 0007: an app's own request quotas, and the
-- request counters the nodes share.

-- A JSON object ({"auth": "10/60", "light": "off"}); empty: the server-wide quotas apply.
ALTER TABLE apps ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '{}';

-- Numbers every change to a counter, so a node reads only what changed since
-- it last looked.
CREATE SEQUENCE rate_counter_versions;

-- Request counters (failed authentications, rate-limit groups) per keyed
-- hash, in a window that starts with the key's first request on any node.
-- Each node adds what it counted every 250 ms and reads back the counters
-- near their limit; rows are purged once their window is over.
CREATE TABLE rate_counters (
    key          BYTEA NOT NULL CONSTRAINT rate_counters_pkey PRIMARY KEY
                 CHECK (octet_length(key) = 16),
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    lim          BIGINT NOT NULL,
    count        BIGINT NOT NULL CHECK (count >= 0),
    version      BIGINT NOT NULL
);

CREATE INDEX rate_counters_version ON rate_counters (version);
CREATE INDEX rate_counters_window_end ON rate_counters (window_end);
