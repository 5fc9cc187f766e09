-- Accounts come alive: what a sign-in needs beside the SCIM document.
-- Secrets are hashes only: passwords argon2id, codes and tokens BLAKE2b.
ALTER TABLE users ADD COLUMN activation_hash TEXT;
ALTER TABLE users ADD COLUMN activation_expires TEXT;
-- Set when the account was activated (its invitation accepted).
ALTER TABLE users ADD COLUMN activated TEXT;
-- 1: the password was handed out, so the first sign-in must change it.
ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_sign_ins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked TEXT;
ALTER TABLE users ADD COLUMN last_sign_in TEXT;
CREATE UNIQUE INDEX users_activation ON users (activation_hash);

-- Signed-in browsers: the cookie's hash, never the cookie.
CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created TEXT NOT NULL,
    expires TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Forgotten passwords: single use, an hour.
CREATE TABLE password_resets (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires TEXT NOT NULL,
    used TEXT
);

-- The server's own settings (the school's name, its SMTP server, the
-- password rules), one row per key.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
