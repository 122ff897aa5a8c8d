-- The device authorization grant (RFC 8628): one row per device request,
-- found by the hash of its device code when the device polls and by its user
-- code on the verification page. `status` moves from pending to approved or
-- denied (the user's decision), and from approved to used (the poll that got
-- tokens, with `session_id`), each by a compare-and-set on the locked row. No
-- foreign keys, like authorization codes: rows expire within minutes and are
-- purged.
CREATE TABLE device_codes (
    hash           BYTEA NOT NULL CONSTRAINT device_codes_pkey PRIMARY KEY
                   CHECK (octet_length(hash) = 32),
    user_code      TEXT NOT NULL CONSTRAINT device_codes_user_code_key UNIQUE,
    client_id      TEXT NOT NULL,
    scope          TEXT NOT NULL,
    poll_interval  BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    last_polled_at BIGINT,
    status         TEXT NOT NULL
                   CHECK (status IN ('pending', 'approved', 'denied', 'used')),
    user_id        TEXT,
    auth_time      BIGINT,
    decided_at     BIGINT,
    session_id     TEXT
);

CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
CREATE INDEX device_codes_client_id ON device_codes (client_id);
