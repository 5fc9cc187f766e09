-- v9: the list index also covers what an import reads of the stored
-- people (source and digest), so person_stored goes: a first import
-- built it with one more pass over every (large, encrypted) row.
DROP INDEX person_stored;
DROP INDEX person_list;
CREATE INDEX person_list ON person
    (sort_key, id, kind, sis_id, status, year_level, home_group, schools, search, source, digest);
