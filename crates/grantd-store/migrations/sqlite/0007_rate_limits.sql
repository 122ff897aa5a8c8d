-- An app's own request quotas per rate-limit group, as a JSON object
-- ({"auth": "10/60", "light": "off"}); empty: the server-wide ones apply.
ALTER TABLE apps ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '{}';

-- Request counters (failed authentications, rate-limit groups) per keyed
-- hash, in a window that starts with the key's first request. PostgreSQL
-- nodes share theirs through this table; a SQLite server is one node and
-- counts in memory, but the schema is the same on both.
CREATE TABLE rate_counters (
    key          BLOB NOT NULL PRIMARY KEY CHECK (length(key) = 16),
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    lim          INTEGER NOT NULL,
    count        INTEGER NOT NULL CHECK (count >= 0),
    -- Moves on with every change, so a node reads only what changed since it last looked.
    version      INTEGER NOT NULL
);

CREATE INDEX rate_counters_version ON rate_counters (version);
CREATE INDEX rate_counters_window_end ON rate_counters (window_end);
