-- v8: the kind leads the sort key as a rank ('1' students, '2' staff,
-- '3' contacts: people::Kind::list_rank), and the list index leads with
-- the sort key alone. Building the index sorts every person, and SQLite's
-- sorter settles a comparison on a leading text by itself; a leading
-- kind, equal for most pairs, sent each one through both whole records.
UPDATE person SET sort_key = CASE kind WHEN 'student' THEN '1' WHEN 'staff' THEN '2'
    ELSE '3' END || sort_key;
DROP INDEX person_list;
CREATE INDEX person_list ON person
    (sort_key, id, kind, sis_id, status, year_level, home_group, schools, search);
