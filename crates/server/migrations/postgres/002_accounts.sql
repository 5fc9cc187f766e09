-- As migrations/sqlite/002_accounts.sql.
ALTER TABLE users ADD COLUMN activation_hash TEXT UNIQUE;
ALTER TABLE users ADD COLUMN activation_expires TEXT;
ALTER TABLE users ADD COLUMN activated TEXT;
ALTER TABLE users ADD COLUMN must_change BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN failed_sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked TEXT;
ALTER TABLE users ADD COLUMN last_sign_in TEXT;

CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    expires TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE password_resets (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires TEXT NOT NULL,
    used TEXT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
