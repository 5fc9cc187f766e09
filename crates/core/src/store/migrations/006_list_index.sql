-- v6: the list index also holds every column a filter or search uses, so
-- the list and its count read the small index, never the (large) rows.
DROP INDEX person_list;
CREATE INDEX person_list ON person
    (kind DESC, sort_key, id, sis_id, status, year_level, home_group, schools, search);
