-- v16: sync with the school server over SCIM 2.0.

-- What the server last acknowledged of each account: its id there, the
-- ETag, and the attributes as last sent (the base a conflict is judged
-- from). An account is dirty while its version or its person's digest
-- differs from the ones pushed. No foreign key: an account deleted for good
-- keeps no row here to block it.
CREATE TABLE sync_account (
    account_id     INTEGER PRIMARY KEY,
    remote_id      TEXT NOT NULL,
    etag           TEXT,
    pushed         TEXT NOT NULL,          -- JSON: the attributes Keyroll owns, as sent
    version        INTEGER NOT NULL,       -- account.version when pushed
    person_digest  INTEGER NOT NULL,       -- person.digest when pushed
    credentials    TEXT NOT NULL DEFAULT '', -- digest of the credential hashes sent
    group_id       INTEGER,                -- the group it was last made a member of
    modified       TEXT                    -- the server's meta.lastModified last seen
);
CREATE INDEX sync_account_remote ON sync_account (remote_id);

CREATE TABLE sync_group (
    group_id   INTEGER PRIMARY KEY,
    remote_id  TEXT NOT NULL,
    etag       TEXT,
    name       TEXT NOT NULL               -- the displayName as sent
);

-- A field both sides changed since the last sync: the office decides.
CREATE TABLE sync_conflict (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    field        TEXT NOT NULL,
    keyroll      TEXT NOT NULL,
    server       TEXT NOT NULL,
    server_since TEXT NOT NULL DEFAULT '',
    found_at     TEXT NOT NULL,
    UNIQUE (account_id, field)
);

-- The server's view of the account, pulled back; and the office's unlock,
-- waiting for the next push.
ALTER TABLE account ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account ADD COLUMN unlock_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account ADD COLUMN invitation_accepted_at TEXT;
