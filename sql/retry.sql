-- Time limits and retries of actions: flow_action.timeout and .retry,
-- flow_run.attempt.  Time limits are a tenth of a second; the retry
-- schedule is checked with the test clock, never by sleeping.  Runs the
-- other files left behind must not execute under a moved clock.
DELETE FROM flowcontrol.flow_run;
-- logs without their times and action ids, errors without ids: this file's
-- output does not depend on the files before it
CREATE FUNCTION masked(log text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT regexp_replace(regexp_replace(untimed(log), '\(\d+\)', '(ID)', 'g'),
						  'action \d+ of flow \d+', 'action N of flow M', 'g')
$$;

CREATE TABLE retry_effects (attempt int, note text);
GRANT INSERT, SELECT ON retry_effects TO PUBLIC;
-- Flaky fails while run.attempt < fail_times, after writing a row
CREATE FUNCTION flaky(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO retry_effects VALUES (run.attempt, config->>'note');
	IF run.attempt < (config->>'fail_times')::int THEN
		RAISE EXCEPTION 'flaky failure %', run.attempt + 1;
	END IF;
	RETURN 'continue';
END $$;
-- Sleeper writes a row, then sleeps
CREATE FUNCTION sleeper(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO retry_effects VALUES (run.attempt, 'slept');
	PERFORM pg_sleep((config->>'seconds')::float8);
	RETURN 'continue';
END $$;
-- CancelSelf cancels its own statement, as pg_cancel_backend() would
CREATE FUNCTION cancel_self(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_cancel_backend(pg_backend_pid());
	PERFORM pg_sleep(10);
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('Flaky', 'flaky(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('Sleeper', 'sleeper(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('CancelSelf', 'cancel_self(flowcontrol.flow_run,jsonb,jsonb)');

-- the keys are saved, exported and round-trip
SELECT flowcontrol.define_flow('{"name": "policies", "actions": [
	{"action": "Flaky", "config": {"fail_times": 0}, "timeout": 2.5,
	 "retry": {"max_attempts": 3, "initial_interval": 1, "backoff_coefficient": 2, "max_interval": 3600}},
	{"action": "IfAction", "config": {"condition": "x"}, "timeout": 60, "children": [
		{"action": "Flaky", "config": {"fail_times": 0}, "retry": {}}]}]}') AS policies \gset
SELECT action, timeout, retry FROM flowcontrol.flow_action WHERE flow_id = :policies ORDER BY id;
SELECT jsonb_pretty(flowcontrol.export_flow(:policies) -> 'actions');
SELECT flowcontrol.export_flow(flowcontrol.define_flow(flowcontrol.export_flow(:policies)))
	= flowcontrol.export_flow(:policies) AS round_trip;
-- add_action takes them as its last parameters
SELECT flowcontrol.add_action(:policies, 'Flaky', '{"fail_times": 0}', NULL, 'added',
							  interval '1.5 seconds', '{"max_attempts": 2}') AS added \gset
SELECT timeout, retry FROM flowcontrol.flow_action WHERE id = :added;
SELECT flowcontrol.export_flow(:policies) -> 'actions' -> 2 AS exported;

-- bad values name the key and the action's place
SELECT try(format($$SELECT flowcontrol.define_flow('{"name": "bad", "actions": [{"action": "Flaky", %s}]}')$$, bad))
FROM (VALUES
	('"timeout": "2 s"'),
	('"timeout": 0'),
	('"timeout": -1'),
	('"timeout": 2073601'),
	('"retry": 3'),
	('"retry": {"max_attempt": 3}'),
	('"retry": {"max_attempts": 0}'),
	('"retry": {"max_attempts": 1.5}'),
	('"retry": {"max_attempts": "3"}'),
	('"retry": {"initial_interval": 0}'),
	('"retry": {"initial_interval": 1e20}'),
	('"retry": {"backoff_coefficient": 0.5}'),
	('"retry": {"initial_interval": 10, "max_interval": 5}')
) AS t(bad);
SELECT try(format($$SELECT flowcontrol.define_flow('{"name": "bad", "actions": [{"action": "IfAction", "children": [{"action": "Flaky", %s}]}]}')$$,
				  '"retry": {"max_attempts": -1}'));
-- add_action and direct writes are checked too
SELECT masked(try(format($$SELECT flowcontrol.add_action(%s, 'Flaky', '{}', NULL, '', interval '-1 second')$$, :policies)));
SELECT masked(try(format($$SELECT flowcontrol.add_action(%s, 'Flaky', '{}', NULL, '', interval '25 days')$$, :policies)));
SELECT masked(try(format($$SELECT flowcontrol.add_action(%s, 'Flaky', '{}', NULL, '', NULL, '[1]')$$, :policies)));
SELECT masked(try(format($$UPDATE flowcontrol.flow_action SET retry = '{"max_interval": 0}' WHERE id = %s$$, :added))) AS direct_update;
-- a JSON null is no retry policy
SELECT flowcontrol.add_action(:policies, 'Flaky', '{}', NULL, '', NULL, 'null') IS NOT NULL AS null_retry;

-- a timeout in a session: the action fails with 57014, its effects are
-- rolled back, the run ends errored; the session goes on
DELETE FROM retry_effects;
SELECT flowcontrol.define_flow('{"name": "slow", "active": true, "actions": [
	{"action": "Sleeper", "config": {"seconds": 30}, "timeout": 0.1},
	{"action": "Flaky", "config": {"fail_times": 0, "note": "after"}}]}') AS slow \gset
SELECT status, outcome, attempt, masked(log) AS log FROM flowcontrol.start_flowrun(:slow);
SELECT count(*) AS effects_kept FROM retry_effects;
-- no timer is left: this sleep outlasts the limit
SELECT pg_sleep(0.2) IS NOT NULL AS slept;
-- the same from continue_flowruns(), in a transaction that goes on
BEGIN;
SELECT id AS slow_run FROM flowcontrol.create_flowrun(:slow) \gset
SELECT flowcontrol.continue_flowruns();
SELECT pg_sleep(0.2) IS NOT NULL AS slept;
SELECT status, outcome, masked(log) AS log FROM flowcontrol.flow_run WHERE id = :slow_run;
COMMIT;

-- an action that catches the cancel itself still ran out of time
CREATE FUNCTION stubborn(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_sleep(30);
	RETURN 'continue';
EXCEPTION WHEN query_canceled THEN
	INSERT INTO retry_effects VALUES (run.attempt, 'caught the cancel');
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('Stubborn', 'stubborn(flowcontrol.flow_run,jsonb,jsonb)');
SELECT status, outcome, masked(log) AS log FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "stubborn", "active": true, "actions": [{"action": "Stubborn", "timeout": 0.1}]}'));
SELECT count(*) AS effects_kept FROM retry_effects;

-- a time limit in a sub-flow started at once: the inner run errs, the
-- outer one goes on; an outer limit that runs out inside the sub-flow is
-- the outer action's
SELECT flowcontrol.define_flow(format('{"name": "outer", "active": true, "actions": [
	{"action": "StartFlowAction", "config": {"start_flow": %s, "immediate": true}, "timeout": 5},
	{"action": "UpdateStateAction", "config": {"state": {"outer": "went on"}}}]}', :slow)::jsonb) AS outer_flow \gset
SELECT status, outcome, state FROM flowcontrol.start_flowrun(:outer_flow);
SELECT status, outcome, masked(log) AS log FROM flowcontrol.flow_run
WHERE parent_run_id IS NOT NULL ORDER BY id DESC LIMIT 1;
SELECT flowcontrol.define_flow('{"name": "slow inner", "active": true, "actions": [
	{"action": "Sleeper", "config": {"seconds": 30}, "timeout": 60}]}') AS slow_inner \gset
SELECT flowcontrol.define_flow(format('{"name": "outer limit", "active": true, "actions": [
	{"action": "StartFlowAction", "config": {"start_flow": %s, "immediate": true}, "timeout": 0.1}]}', :slow_inner)::jsonb) AS outer_limit \gset
SELECT status, outcome, masked(log) AS log FROM flowcontrol.start_flowrun(:outer_limit);
SELECT count(*) AS inner_runs_kept FROM flowcontrol.flow_run WHERE flow_id = :slow_inner;
SELECT pg_sleep(0.2) IS NOT NULL AS slept;

-- a real cancel is never caught, even with a time limit: the statement
-- fails and the run is as it was
SELECT flowcontrol.define_flow('{"name": "cancel", "active": true, "actions": [
	{"action": "CancelSelf", "timeout": 5, "retry": {"max_attempts": 3}}]}') AS cancel_flow \gset
SELECT id AS cancel_run FROM flowcontrol.create_flowrun(:cancel_flow) \gset
\set VERBOSITY terse
SELECT flowcontrol.execute_flowrun(:cancel_run);
SELECT status, attempt, log FROM flowcontrol.flow_run WHERE id = :cancel_run;
-- nor is the caller's statement_timeout
SET statement_timeout = '100ms';
SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "caller limit", "active": true, "actions": [
	{"action": "Sleeper", "config": {"seconds": 30}, "timeout": 10, "retry": {"max_attempts": 3}}]}'));
RESET statement_timeout;
\set VERBOSITY default
SELECT count(*) AS runs_of_rolled_back_flow FROM flowcontrol.flow WHERE name = 'caller limit';

-- the owner's statement_timeout bounds its actions, as in a new session of it
CREATE ROLE retry_owner;
ALTER ROLE retry_owner SET statement_timeout = '100ms';
SELECT flowcontrol.define_flow('{"name": "owner limit", "active": true, "actions": [
	{"action": "Sleeper", "config": {"seconds": 30}, "timeout": 60}]}') AS owner_limit \gset
UPDATE flowcontrol.flow SET owner = 'retry_owner' WHERE id = :owner_limit;
SELECT status, outcome, masked(log) AS log FROM flowcontrol.start_flowrun(:owner_limit);
-- the action's own timeout wins when it is shorter
UPDATE flowcontrol.flow_action SET timeout = '50ms', config = '{"seconds": 30}' WHERE flow_id = :owner_limit;
SELECT status, outcome, masked(log) AS log FROM flowcontrol.start_flowrun(:owner_limit);
UPDATE flowcontrol.flow SET owner = current_user::regrole WHERE id = :owner_limit;
DROP ROLE retry_owner;
