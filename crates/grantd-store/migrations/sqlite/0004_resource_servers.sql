-- Apps that stand for the operator's own APIs (resource servers) may
-- introspect tokens issued to any app. Existing apps may not.
ALTER TABLE apps ADD COLUMN resource_server INTEGER NOT NULL DEFAULT 0
    CHECK (resource_server IN (0, 1));
