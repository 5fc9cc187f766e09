-- v14: the school's own letter templates (the built-in ones live in the
-- program). The body is the template's markup (letters::template).
CREATE TABLE letter_template (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    audience    TEXT NOT NULL CHECK (audience IN ('student', 'staff', 'parent')),
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
