-- An organisation's name is its own, letter case aside. Names taken twice before this
-- (the later organisations') get their id appended, so the index can be made.
UPDATE organisations SET name = name || ' (' || CAST(org_id AS TEXT) || ')'
WHERE EXISTS (SELECT 1 FROM organisations AS earlier WHERE LOWER(earlier.name) = LOWER(organisations.name) AND earlier.org_id < organisations.org_id);
CREATE UNIQUE INDEX organisations_by_name ON organisations (LOWER(name));
