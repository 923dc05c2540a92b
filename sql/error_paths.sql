-- Error paths: every entry point that executes a run, followed by an error
-- that a PL/pgSQL exception block, a savepoint or a nested block catches.
-- The session must survive, and the runs' rows must be as the rollback
-- left them.
CREATE TABLE ep_item (id int PRIMARY KEY, note text);
CREATE TABLE ep_seen (run_id bigint, what text);
CREATE FUNCTION ep_record(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS
$$ INSERT INTO ep_seen VALUES (run.id, config->>'what') RETURNING 'continue'::flowcontrol.directive $$;
CREATE FUNCTION ep_fail(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'ep_fail was called'; END $$;
SELECT flowcontrol.register_action('EpRecord', 'ep_record(flowcontrol.flow_run, jsonb, jsonb)');
SELECT flowcontrol.register_action('EpFail', 'ep_fail(flowcontrol.flow_run, jsonb, jsonb)');

SELECT flowcontrol.define_flow('{"name": "ep quick", "active": true, "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"ran": true}}},
	{"action": "EpRecord", "config": {"what": "quick"}}]}') AS quick \gset
SELECT flowcontrol.define_flow('{"name": "ep delayed", "active": true, "actions": [
	{"action": "EpRecord", "config": {"what": "before delay"}},
	{"action": "DelayAction", "config": {"seconds": 0}},
	{"action": "EpRecord", "config": {"what": "after delay"}}]}') AS delayed \gset
SELECT flowcontrol.define_flow('{"name": "ep failing", "active": true, "actions": [
	{"action": "EpRecord", "config": {"what": "failing"}},
	{"action": "EpFail"}]}') AS failing \gset
SELECT flowcontrol.define_flow(format('{"name": "ep starter", "active": true, "actions": [
	{"action": "StartFlowAction", "config": {"start_flow": %s, "immediate": true}}]}', :quick)::jsonb) AS starter \gset
SELECT flowcontrol.attach_trigger('ep_item', 'ep_item_saved', immediate => true);
SELECT flowcontrol.define_flow('{"name": "ep triggered", "active": true,
	"object_table": "ep_item",
	"actions": [{"action": "EpRecord", "config": {"what": "triggered"}}],
	"triggers": [{"trigger_name": "ep_item_saved"}]}') AS triggered \gset
SELECT flowcontrol.register_trigger('ep_event');
INSERT INTO flowcontrol.trigger (trigger_name, flow_id, active_at) VALUES ('ep_event', :quick, now());

-- what a handler caught, with the error's context lines: a stale error
-- context callback left by an execution would show up here (or crash)
CREATE FUNCTION ep_caught(msg text, ctx text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	RAISE NOTICE 'caught: %', msg;
	RAISE NOTICE 'context: %', regexp_replace(replace(ctx, E'\n', ' / '), 'flow run \d+', 'flow run N');
END $$;

-- flow ids for the DO blocks below, which call the entry points as simple
-- PL/pgSQL expressions (not through SPI, which would restore the error
-- context stack on its own)
SELECT set_config('ep.quick', :'quick', false) IS NOT NULL AS noted,
	   set_config('ep.failing', :'failing', false) IS NOT NULL AS noted,
	   set_config('ep.starter', :'starter', false) IS NOT NULL AS noted;

CREATE VIEW ep_run AS
	SELECT r.* FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
	WHERE f.name LIKE 'ep %';
CREATE VIEW ep_state AS
	SELECT (SELECT count(*) FROM ep_run) AS runs,
		   (SELECT count(*) FROM ep_seen) AS seen,
		   (SELECT count(*) FROM ep_item) AS items;

-- 1. start_flowrun, then an error caught by the same block
DO $$
DECLARE ctx text; r flowcontrol.flow_run;
BEGIN
	BEGIN
		r := flowcontrol.start_flowrun(current_setting('ep.quick')::bigint);
		RAISE NOTICE 'run executed: %', r.status;
		RAISE EXCEPTION 'after the run';
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
		PERFORM ep_caught(SQLERRM, ctx);
	END;
END $$;
SELECT * FROM ep_state;

-- the same with an error that is not raised by PL/pgSQL itself
DO $$
DECLARE ctx text; r flowcontrol.flow_run;
BEGIN
	r := flowcontrol.start_flowrun(current_setting('ep.quick')::bigint);
	PERFORM set_config('flowcontrol.no_such_setting', 'x', false);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
	PERFORM ep_caught(SQLERRM, ctx);
END $$;
SELECT * FROM ep_state;

-- the handler raises again: nested blocks, the outer one catches
DO $$
DECLARE ctx text; r flowcontrol.flow_run;
BEGIN
	BEGIN
		BEGIN
			r := flowcontrol.start_flowrun(current_setting('ep.quick')::bigint);
			PERFORM 1 / 0;
		EXCEPTION WHEN division_by_zero THEN
			GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
			PERFORM ep_caught(SQLERRM, ctx);
			r := flowcontrol.start_flowrun(current_setting('ep.quick')::bigint);
			RAISE EXCEPTION 'from the inner handler';
		END;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
		PERFORM ep_caught(SQLERRM, ctx);
	END;
	-- this one survives: the outer block goes on after its handler
	r := flowcontrol.start_flowrun(current_setting('ep.quick')::bigint);
END $$;
SELECT * FROM ep_state;
SELECT status, outcome, state FROM ep_run;

-- 2. execute_flowrun: the run stays pending after the rollback
SELECT id AS pending_run FROM flowcontrol.create_flowrun(:quick) \gset
SELECT set_config('ep.pending_run', :'pending_run', false) IS NOT NULL AS noted;
DO $$
DECLARE ctx text; r flowcontrol.flow_run;
BEGIN
	r := flowcontrol.execute_flowrun(current_setting('ep.pending_run')::bigint);
	RAISE EXCEPTION 'after execute_flowrun';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
	PERFORM ep_caught(SQLERRM, ctx);
END $$;
SELECT status, outcome, state FROM flowcontrol.flow_run WHERE id = :pending_run;

-- a run that fails inside (its action's error is caught by the engine),
-- then an error after it
DO $$
DECLARE ctx text; r flowcontrol.flow_run;
BEGIN
	r := flowcontrol.start_flowrun(current_setting('ep.failing')::bigint);
	RAISE NOTICE 'run: % %', r.status, r.outcome;
	RAISE EXCEPTION 'after a failed run';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
	PERFORM ep_caught(SQLERRM, ctx);
END $$;
SELECT * FROM ep_state;

-- an error from the engine itself (a broken waiting row), caught
UPDATE flowcontrol.flow_run SET status = 'waiting', continue_after = now() WHERE id = :pending_run;
DO $$
DECLARE ctx text; r flowcontrol.flow_run;
BEGIN
	r := flowcontrol.execute_flowrun(current_setting('ep.pending_run')::bigint);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
	PERFORM ep_caught(SQLERRM, ctx);
	RAISE NOTICE 'still here: %', (SELECT count(*) FROM ep_seen);
END $$;
UPDATE flowcontrol.flow_run SET status = 'pending', continue_after = NULL WHERE id = :pending_run;

-- 3. continue_flowruns
DO $$
DECLARE ctx text; n int;
BEGIN
	n := flowcontrol.continue_flowruns();
	RAISE NOTICE 'continued any: %', n > 0;
	RAISE EXCEPTION 'after continue_flowruns';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
	PERFORM ep_caught(SQLERRM, ctx);
END $$;
SELECT status FROM flowcontrol.flow_run WHERE id = :pending_run;

-- 4. trigger_flows(..., immediate => true)
DO $$
DECLARE ctx text; r flowcontrol.flow_run;
BEGIN
	PERFORM flowcontrol.trigger_flows('ep_event', immediate => true);
	RAISE NOTICE 'seen: %', (SELECT count(*) FROM ep_seen);
	RAISE EXCEPTION 'after trigger_flows';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
	PERFORM ep_caught(SQLERRM, ctx);
END $$;
SELECT * FROM ep_state;

-- 5. fire() with immediate: a table trigger executes the run at once
DO $$
DECLARE ctx text; r flowcontrol.flow_run;
BEGIN
	INSERT INTO ep_item VALUES (1, 'one');
	RAISE NOTICE 'runs seen: %', (SELECT count(*) FROM ep_seen WHERE what = 'triggered');
	UPDATE ep_item SET note = 'uno' WHERE id = 1;
	RAISE NOTICE 'runs seen: %', (SELECT count(*) FROM ep_seen WHERE what = 'triggered');
	RAISE EXCEPTION 'after the insert';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
	PERFORM ep_caught(SQLERRM, ctx);
END $$;
SELECT * FROM ep_state;

-- 6. StartFlowAction with immediate: a run that starts and executes another
DO $$
DECLARE ctx text; r flowcontrol.flow_run;
BEGIN
	r := flowcontrol.start_flowrun(current_setting('ep.starter')::bigint);
	RAISE NOTICE 'runs: %', (SELECT count(*) FROM ep_run);
	RAISE EXCEPTION 'after StartFlowAction';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
	PERFORM ep_caught(SQLERRM, ctx);
END $$;
SELECT * FROM ep_state;

-- 7. savepoints: ROLLBACK TO SAVEPOINT after each entry point
BEGIN;
SELECT count(*) AS runs_before FROM ep_run \gset
SAVEPOINT a;
SELECT status FROM flowcontrol.start_flowrun(:quick);
SELECT 1 / 0;
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
SELECT status FROM flowcontrol.start_flowrun(:delayed);
SELECT flowcontrol.continue_flowruns() > 0 AS continued;
SELECT set_config('flowcontrol.no_such_setting', 'x', false);
ROLLBACK TO SAVEPOINT b;
SAVEPOINT c;
SELECT count(*) FROM flowcontrol.trigger_flows('ep_event', immediate => true);
INSERT INTO ep_item VALUES (2, 'two');
SELECT status FROM flowcontrol.start_flowrun(:starter);
ROLLBACK TO SAVEPOINT c;
SELECT count(*) = :runs_before AS runs_as_before FROM ep_run;
-- a savepoint released after a run, then an error in the transaction
SAVEPOINT d;
SELECT status FROM flowcontrol.start_flowrun(:quick);
RELEASE SAVEPOINT d;
SELECT count(*) - :runs_before AS new_runs FROM ep_run;
SELECT 1 / 0;
ROLLBACK;
SELECT * FROM ep_state;

-- 8. an error inside a PL/pgSQL block called from a run's own action: the
-- action catches it, the run goes on
CREATE FUNCTION ep_catching(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		r := flowcontrol.start_flowrun(current_setting('ep.quick')::bigint);
		RAISE EXCEPTION 'inside the action';
	EXCEPTION WHEN OTHERS THEN
		INSERT INTO ep_seen VALUES (run.id, 'action caught: ' || SQLERRM);
	END;
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('EpCatching', 'ep_catching(flowcontrol.flow_run, jsonb, jsonb)');
SELECT status, outcome FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "ep catching", "active": true, "actions": [{"action": "EpCatching"}]}'));
SELECT what FROM ep_seen ORDER BY what;

-- the session is alive and the error context is clean
SELECT 1 / 0;
SELECT 'alive' AS session;
