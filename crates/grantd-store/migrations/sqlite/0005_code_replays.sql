-- When a used code was presented again. The exchange that used it checks this
-- after issuing, so a replay that arrives before the exchange has recorded
-- its session still revokes what the exchange issued.
ALTER TABLE auth_codes ADD COLUMN replayed_at INTEGER;
