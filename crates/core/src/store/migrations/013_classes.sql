-- v13: classes (sections, home groups) and who is in them, from the SIS.
-- A class is kept when the SIS stops listing it (status 'removed', with no
-- members), as people are kept when they leave: its history stays readable
-- and a rollback can bring it back.
CREATE TABLE class (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    sis_id      TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    -- The org SIS id of its school ('' when the SIS names none).
    school      TEXT NOT NULL DEFAULT '',
    -- A section or class code as the SIS shows it ("7B-MA1").
    code        TEXT NOT NULL DEFAULT '',
    -- homeroom (a home group), scheduled, or '' as the SIS says.
    class_type  TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
    UNIQUE (source, sis_id)
);

-- Who is in a class: its students and its teachers; `lead` marks the one the
-- SIS says leads it (OneRoster's primary teacher, Clever's Teacher_id).
CREATE TABLE enrollment (
    class_id    INTEGER NOT NULL REFERENCES class(id),
    person_id   INTEGER NOT NULL REFERENCES person(id),
    role        TEXT NOT NULL CHECK (role IN ('student', 'teacher')),
    lead        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (class_id, person_id)
) WITHOUT ROWID;
CREATE INDEX enrollment_person ON enrollment (person_id);
