-- The extension installs, shows its objects, and can be dropped and recreated.
CREATE EXTENSION flowcontrol;

SELECT extversion, extrelocatable, extnamespace::regnamespace
FROM pg_extension WHERE extname = 'flowcontrol';

-- the three enums
SELECT enum_range(NULL::flowcontrol.directive);
SELECT enum_range(NULL::flowcontrol.run_status);
SELECT enum_range(NULL::flowcontrol.run_outcome);

-- tables and the objects pg_dump keeps
SELECT c.relname, c.relrowsecurity
FROM pg_class c
WHERE c.relnamespace = 'flowcontrol'::regnamespace AND c.relkind = 'r'
ORDER BY c.relname;

SELECT unnest(extconfig)::regclass::text AS config, unnest(extcondition) AS condition
FROM pg_extension WHERE extname = 'flowcontrol'
ORDER BY 1;

-- the built-in actions
SELECT name, has_children, action_group, builtin, run_function IS NULL AS no_function
FROM flowcontrol.action_type ORDER BY name;

-- nothing is granted to PUBLIC
SELECT p.oid::regprocedure AS function
FROM pg_proc p
WHERE p.pronamespace = 'flowcontrol'::regnamespace
  AND has_function_privilege('public', p.oid, 'EXECUTE')
ORDER BY 1;
SELECT nspacl IS NULL AS schema_not_granted FROM pg_namespace WHERE nspname = 'flowcontrol';

-- every function, table and column explains itself
SELECT p.oid::regprocedure AS undocumented_function
FROM pg_proc p
WHERE p.pronamespace = 'flowcontrol'::regnamespace
  AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1;
SELECT c.relname || coalesce('.' || a.attname, '') AS undocumented
FROM pg_class c
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'flowcontrol'::regnamespace AND c.relkind IN ('r', 'v')
  AND (CASE WHEN a.attname IS NULL THEN obj_description(c.oid, 'pg_class')
            ELSE col_description(c.oid, a.attnum) END) IS NULL
ORDER BY 1;

-- drop and create again
DROP EXTENSION flowcontrol;
CREATE EXTENSION flowcontrol;
SELECT count(*) AS builtin_actions FROM flowcontrol.action_type;

-- Later test files report errors through this helper: SQLSTATE and message,
-- without the source locations psql's verbose mode would print.
CREATE FUNCTION try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- Each line of a run's log starts with its time in UTC; later test files
-- show logs without it, through this helper.
CREATE FUNCTION untimed(log text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT regexp_replace(log, '^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00 ', '', 'gn')
$$;
