-- v2: an import can be rolled back (imports rollback ID).
ALTER TABLE import ADD COLUMN rolled_back_at TEXT;
ALTER TABLE import ADD COLUMN rolled_back_by TEXT;
