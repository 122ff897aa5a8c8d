-- Token exchange (RFC 8693). An app's policy: whose tokens it may exchange,
-- for which resource servers, up to which scope (a JSON object; NULL = only
-- its own tokens, for grantd's own API).
ALTER TABLE apps ADD COLUMN token_exchange TEXT;

-- An exchanged opaque access token's audience (a resource server's client
-- id; NULL = grantd's own) and actor chain (the `act` claim as JSON).
ALTER TABLE tokens ADD COLUMN audience TEXT;
ALTER TABLE tokens ADD COLUMN act TEXT;
