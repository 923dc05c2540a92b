-- Hooks run as in a fresh session of the flow's owner: the caller's
-- settings never reach them, what one hook SETs never outlives it, the
-- owner's ALTER ROLE / ALTER DATABASE settings apply, and a hook cannot
-- leave session state (temporary objects, SET ROLE, LISTEN) behind.
CREATE ROLE regress_hook_owner;
CREATE ROLE regress_hook_caller;
GRANT USAGE ON SCHEMA flowcontrol TO regress_hook_owner, regress_hook_caller;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO regress_hook_owner, regress_hook_caller;
GRANT SELECT, INSERT, UPDATE, DELETE ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger
	TO regress_hook_owner, regress_hook_caller;
GRANT SELECT, DELETE ON flowcontrol.flow_run TO regress_hook_owner, regress_hook_caller;
GRANT SELECT ON flowcontrol.action_type, flowcontrol.trigger_type, flowcontrol.filter
	TO regress_hook_owner, regress_hook_caller;
GRANT regress_hook_owner TO regress_hook_caller;	-- the caller may start the owner's flows

-- an action that reports the settings it runs with, and one that meddles
CREATE FUNCTION hook_report(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb, OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$
BEGIN
	run.state := run.state || jsonb_build_object(
		coalesce(config->>'as', 'seen'), jsonb_build_object(
			'user', current_user,
			'search_path', current_setting('search_path'),
			'lower', lower('ABC'),
			'work_mem', current_setting('work_mem'),
			'transform_null_equals', current_setting('transform_null_equals'),
			'app', current_setting('application_name')));
END $$;
CREATE FUNCTION hook_meddle(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('search_path', 'regress_trap, pg_catalog, public', false);
	PERFORM set_config('work_mem', '7MB', false);
	PERFORM set_config('application_name', 'meddled', false);
	RETURN 'continue';
END $$;
CREATE FUNCTION hook_temp(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	CREATE TEMP TABLE hook_left_behind (x int);
	RETURN 'continue';
END $$;
CREATE FUNCTION hook_listen(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	LISTEN hook_channel;
	RETURN 'continue';
END $$;
CREATE FUNCTION hook_set_role(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	SET ROLE regress_hook_caller;
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('HookReport', 'hook_report(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('HookMeddle', 'hook_meddle(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('HookTemp', 'hook_temp(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('HookListen', 'hook_listen(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('HookSetRole', 'hook_set_role(flowcontrol.flow_run,jsonb,jsonb)');

-- a trap: a schema of the caller's with a function named like a built-in
CREATE SCHEMA regress_trap AUTHORIZATION regress_hook_caller;
CREATE FUNCTION regress_trap.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT 'trapped' $$;
ALTER FUNCTION regress_trap.lower(text) OWNER TO regress_hook_caller;
GRANT USAGE ON SCHEMA regress_trap TO PUBLIC;

SET ROLE regress_hook_owner;
SELECT flowcontrol.define_flow('{"name": "hook report", "active": true, "actions": [
	{"action": "HookReport", "config": {"as": "first"}},
	{"action": "HookMeddle"},
	{"action": "HookReport", "config": {"as": "after meddling"}}]}') AS report_flow \gset
SELECT flowcontrol.define_flow('{"name": "hook temp", "active": true, "actions": [{"action": "HookTemp"}]}') AS temp_flow \gset
SELECT flowcontrol.define_flow('{"name": "hook listen", "active": true, "actions": [{"action": "HookListen"}]}') AS listen_flow \gset
SELECT flowcontrol.define_flow('{"name": "hook set role", "active": true, "actions": [{"action": "HookSetRole"}]}') AS role_flow \gset
RESET ROLE;

-- 1. the caller's settings do not reach the owner's actions
SET ROLE regress_hook_caller;
SET search_path = regress_trap, pg_catalog, public;
SET work_mem = '3MB';
SET transform_null_equals = on;
SET application_name = 'caller';
SELECT jsonb_pretty(state) FROM flowcontrol.start_flowrun(:report_flow);
-- and what the actions SET did not reach the caller
SELECT current_setting('search_path') AS search_path, current_setting('work_mem') AS work_mem,
	   current_setting('application_name') AS app;
RESET ALL;
RESET ROLE;

-- 2. the owner's settings apply: ALTER ROLE, ALTER ROLE IN DATABASE
ALTER ROLE regress_hook_owner SET work_mem = '5MB';
DO $$ BEGIN
	EXECUTE format('ALTER ROLE regress_hook_owner IN DATABASE %I SET search_path = pg_catalog, public', current_database());
END $$;
SELECT state->'first' AS first FROM flowcontrol.start_flowrun(:report_flow);
ALTER ROLE regress_hook_owner RESET ALL;
DO $$ BEGIN
	EXECUTE format('ALTER ROLE regress_hook_owner IN DATABASE %I RESET ALL', current_database());
END $$;

-- 3. session state a hook would leave behind is refused
SELECT status, outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log FROM flowcontrol.start_flowrun(:temp_flow);
SELECT status, outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log FROM flowcontrol.start_flowrun(:listen_flow);
SELECT status, outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log FROM flowcontrol.start_flowrun(:role_flow);
SELECT count(*) AS temp_tables FROM pg_class WHERE relname = 'hook_left_behind';
SELECT count(*) AS listening FROM pg_listening_channels();

-- 4. the same through continue_flowruns(), as the worker runs them: one
-- run's settings never reach the next
SELECT id AS r1 FROM flowcontrol.create_flowrun(:report_flow) \gset
SELECT id AS r2 FROM flowcontrol.create_flowrun(:report_flow) \gset
SET work_mem = '2MB';
SELECT flowcontrol.continue_flowruns() >= 2 AS continued;
SELECT id = :r1 AS first_run, state->'first'->>'search_path' AS search_path, state->'first'->>'work_mem' AS work_mem,
	   state->'first'->>'lower' AS lower
FROM flowcontrol.flow_run WHERE id IN (:r1, :r2) ORDER BY id;
SELECT current_setting('work_mem') AS caller_work_mem;
RESET work_mem;

-- 5. registered filters: SQL of the evaluating role, in a hook of its own
CREATE FUNCTION hook_filter(value jsonb, arg jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('work_mem', '9MB', false);
	RETURN to_jsonb(current_setting('search_path') || ' / ' || lower('ABC'));
END $$;
SELECT flowcontrol.register_filter('hooked', 'hook_filter(jsonb,jsonb)');
SET search_path = regress_trap, pg_catalog, public;
SELECT flowcontrol.evaluate('x|hooked');
SELECT current_setting('work_mem') AS work_mem_after_filter;
RESET search_path;

-- 6. a writer with INSERT on a table with a flow trigger and no rights on
-- flowcontrol at all, in a fresh session (nothing prepared yet)
CREATE ROLE regress_hook_writer LOGIN;
CREATE TABLE hook_orders (id int PRIMARY KEY, paid boolean NOT NULL DEFAULT false);
ALTER TABLE hook_orders OWNER TO regress_hook_owner;
GRANT INSERT ON hook_orders TO regress_hook_writer;
SET ROLE regress_hook_owner;
SELECT flowcontrol.attach_trigger('hook_orders', 'hook_order_saved', '{INSERT}');
SELECT flowcontrol.define_flow('{"name": "hook order", "active": true, "object_table": "hook_orders",
	"condition": "object.id > 0",
	"actions": [{"action": "HookReport"}],
	"triggers": [{"trigger_name": "hook_order_saved", "condition": "not object.paid"}]}') IS NOT NULL AS defined;
RESET ROLE;
SELECT current_user AS superuser \gset
\c - regress_hook_writer
INSERT INTO hook_orders VALUES (1), (2);
SELECT count(*) FROM flowcontrol.flow_run;
\c - :superuser
SELECT object_id, status FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
WHERE f.name = 'hook order' ORDER BY object_id;
SELECT flowcontrol.continue_flowruns() >= 2 AS continued;
SELECT object_id, status, outcome, state->'seen'->>'user' AS ran_as
FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
WHERE f.name = 'hook order' ORDER BY object_id;
DROP TABLE hook_orders;

DROP SCHEMA regress_trap CASCADE;
DROP FUNCTION hook_report, hook_meddle, hook_temp, hook_listen, hook_set_role, hook_filter CASCADE;
DROP OWNED BY regress_hook_owner, regress_hook_caller, regress_hook_writer;
DROP ROLE regress_hook_owner, regress_hook_caller, regress_hook_writer;
