-- The SCIM resources, as in migrations/sqlite/001_scim.sql; `seq` keeps
-- the order they were made (SQLite's rowid).
CREATE TABLE users (
    seq BIGSERIAL UNIQUE,
    id TEXT PRIMARY KEY,
    user_name_key TEXT NOT NULL UNIQUE,
    external_id TEXT,
    version BIGINT NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    doc TEXT NOT NULL,
    password_hash TEXT
);
CREATE INDEX users_external_id ON users (external_id);
CREATE INDEX users_modified ON users (modified);

CREATE TABLE groups (
    seq BIGSERIAL UNIQUE,
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    external_id TEXT,
    version BIGINT NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX groups_display_name ON groups (lower(display_name));
CREATE INDEX groups_external_id ON groups (external_id);
CREATE INDEX groups_modified ON groups (modified);

CREATE TABLE memberships (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX memberships_member ON memberships (member_id);

CREATE TABLE tokens (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    last_used TEXT,
    revoked TEXT
);
