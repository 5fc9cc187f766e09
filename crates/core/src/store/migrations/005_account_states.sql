-- v5: accounts: why a state was set and when (leavers go to the recycle
-- bin after a grace period), retired usernames (not reused for a year),
-- and settings such as the account policy.
ALTER TABLE account ADD COLUMN state_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE account ADD COLUMN state_changed_at TEXT NOT NULL DEFAULT '';
ALTER TABLE account ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
ALTER TABLE account ADD COLUMN activation_hash TEXT;
ALTER TABLE account ADD COLUMN activation_expires TEXT;
CREATE TABLE retired_username (
    username   TEXT PRIMARY KEY COLLATE NOCASE,
    retired_at TEXT NOT NULL
);
CREATE TABLE setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
