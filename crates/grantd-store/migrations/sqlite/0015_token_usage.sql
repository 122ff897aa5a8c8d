-- Tokens issued per app and day (UTC; `day` counts days since 1970-01-01),
-- added to in batches by the usage flusher, read for the console's usage table.
CREATE TABLE token_usage (
    client_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (client_id, day)
);
