-- Tokens issued per app and day (UTC; `day` counts days since 1970-01-01),
-- added to in batches by the usage flusher, read for the console's usage table.
CREATE TABLE token_usage (
    client_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (client_id, day)
);
