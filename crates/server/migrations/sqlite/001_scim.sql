-- The SCIM resources, kept as JSON documents with the attributes that are
-- looked up or must be unique beside them. id, meta and a user's groups
-- are made on read; passwords only as argon2id hashes.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    -- userName is unique without regard to case (RFC 7643 §4.1.1).
    user_name_key TEXT NOT NULL UNIQUE,
    external_id TEXT,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    doc TEXT NOT NULL,
    password_hash TEXT
);
CREATE INDEX users_external_id ON users (external_id);
CREATE INDEX users_modified ON users (modified);

CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    external_id TEXT,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX groups_external_id ON groups (external_id);
CREATE INDEX groups_modified ON groups (modified);

-- Who is in which group, kept with each group's members so that a user's
-- groups are one indexed read.
CREATE TABLE memberships (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX memberships_member ON memberships (member_id);

-- Bearer tokens for office devices: only a hash is kept.
CREATE TABLE tokens (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    last_used TEXT,
    revoked TEXT
);
