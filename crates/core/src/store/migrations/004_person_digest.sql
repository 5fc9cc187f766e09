-- v4: a fingerprint of each person's SIS fields, so a re-import skips
-- reading back unchanged people (0: unknown, compare in full).
-- The index holds all an import needs to know of the stored people, so
-- it reads the index rather than every (large) row of the table.
ALTER TABLE person ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
CREATE INDEX person_stored ON person (source, sis_id, kind, status, schools, digest);
