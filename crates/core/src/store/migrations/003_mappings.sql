-- v3: column mappings for plain CSV/Excel files, saved as named profiles.
CREATE TABLE mapping (
    name       TEXT PRIMARY KEY COLLATE NOCASE,
    header_key TEXT NOT NULL,
    body       TEXT NOT NULL,
    saved_at   TEXT NOT NULL,
    saved_by   TEXT NOT NULL
);
CREATE INDEX mapping_header ON mapping (header_key);
