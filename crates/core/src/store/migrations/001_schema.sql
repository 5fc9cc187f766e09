-- Schema version 1. Later versions are the files after this one (store/migrate.rs).

-- An organisation from the SIS: district, school.
CREATE TABLE org (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,            -- SIS format/system the record came from
    sis_id      TEXT NOT NULL,
    name        TEXT NOT NULL,
    org_type    TEXT NOT NULL DEFAULT '',
    parent_sis_id TEXT,
    status      TEXT NOT NULL DEFAULT 'active',
    UNIQUE (source, sis_id)
);

-- A student, staff member or contact as the SIS knows them. The SIS id and
-- source are the stable key; names change.
CREATE TABLE person (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    sis_id        TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('student', 'staff', 'contact')),
    role          TEXT NOT NULL DEFAULT '',  -- the SIS role as given (guardian, teacher…)
    given_name    TEXT NOT NULL DEFAULT '',
    middle_name   TEXT NOT NULL DEFAULT '',
    family_name   TEXT NOT NULL DEFAULT '',
    preferred_name TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    mobile        TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('active', 'future', 'leaving', 'left', 'inactive')),
    schools       TEXT NOT NULL DEFAULT '',  -- org sis ids, comma separated
    year_level    TEXT NOT NULL DEFAULT '',
    home_group    TEXT NOT NULL DEFAULT '',
    birth_date    TEXT NOT NULL DEFAULT '',
    raw           TEXT NOT NULL DEFAULT '{}', -- every SIS field, for merge fields
    sort_key      TEXT NOT NULL,             -- folded "family given", for ordering
    search        TEXT NOT NULL,             -- folded names, email, ids, for search
    import_id     INTEGER REFERENCES import(id),
    UNIQUE (source, sis_id)
);
-- One index serves every list: people are shown by kind (students, staff,
-- then contacts: kind DESC) and by name within each kind.
CREATE INDEX person_list ON person (kind DESC, sort_key, id);

-- Student <-> contact.
CREATE TABLE relationship (
    student_id    INTEGER NOT NULL REFERENCES person(id),
    contact_id    INTEGER NOT NULL REFERENCES person(id),
    family_code   TEXT NOT NULL DEFAULT '',
    primary_family INTEGER NOT NULL DEFAULT 1,
    parental_responsibility INTEGER NOT NULL DEFAULT 1,
    primary_contact INTEGER NOT NULL DEFAULT 0,
    access_restricted INTEGER NOT NULL DEFAULT 0,  -- AR
    no_reports    INTEGER NOT NULL DEFAULT 0,      -- NR
    PRIMARY KEY (student_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX relationship_contact ON relationship (contact_id, student_id);

CREATE TABLE user_group (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind        TEXT NOT NULL DEFAULT '',
    default_for TEXT
);

-- One account per person who qualifies (filled by account generation).
CREATE TABLE account (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL UNIQUE REFERENCES person(id),
    username    TEXT NOT NULL UNIQUE COLLATE NOCASE,
    state       TEXT NOT NULL,
    group_id    INTEGER NOT NULL REFERENCES user_group(id),
    password_hash TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    invitation  TEXT NOT NULL DEFAULT 'not_sent',
    flags       TEXT NOT NULL DEFAULT '',
    version     INTEGER NOT NULL DEFAULT 1
);

-- One applied (or attempted) SIS import.
CREATE TABLE import (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    format      TEXT NOT NULL,
    files       TEXT NOT NULL,   -- JSON array of paths
    counts      TEXT NOT NULL DEFAULT '{}',
    exceptions  TEXT NOT NULL DEFAULT '[]'
);

-- Who changed what, when, with before and after.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_key  TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    import_id   INTEGER
);
CREATE INDEX audit_entity ON audit (entity, entity_key);
