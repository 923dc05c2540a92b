-- Retries with backoff, on the test clock: when an action fails and its
-- retry policy has attempts left, the run waits initial_interval *
-- backoff_coefficient ^ (failures - 1) seconds (at most max_interval) and
-- runs the action again; flow_run.attempt counts the failures.  Uses the
-- actions of retry.sql.  Times are compared with now(), never shown.
DELETE FROM flowcontrol.flow_run;
DELETE FROM retry_effects;

SELECT flowcontrol.define_flow('{"name": "backoff", "active": true, "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"before": true}}},
	{"action": "Flaky", "config": {"fail_times": 3, "note": "flaky"},
	 "retry": {"max_attempts": 5, "initial_interval": 10, "backoff_coefficient": 3, "max_interval": 60}},
	{"action": "UpdateStateAction", "config": {"state": {"after": true}}}]}') AS backoff \gset

-- first failure: waiting, attempt 1, due in 10 s; the state before it is kept
BEGIN;
SELECT id AS r FROM flowcontrol.start_flowrun(:backoff) \gset
SELECT status, attempt, repeat_action, state, continue_after = now() + interval '10 s' AS in_10s
FROM flowcontrol.flow_run WHERE id = :r;
COMMIT;
SELECT count(*) AS effects_kept FROM retry_effects;
-- not due 9 s later
SET flowcontrol.time_offset = '9 s';
SELECT flowcontrol.continue_flowruns();
-- second failure at 10 s: the next wait is 30 s
SET flowcontrol.time_offset = '10 s';
BEGIN;
SELECT flowcontrol.continue_flowruns();
SELECT status, attempt, continue_after = now() + interval '40 s' AS in_30s_more
FROM flowcontrol.flow_run WHERE id = :r;
COMMIT;
-- third failure at 40 s: 90 s is capped at max_interval, 60 s
SET flowcontrol.time_offset = '40 s';
BEGIN;
SELECT flowcontrol.continue_flowruns();
SELECT status, attempt, continue_after = now() + interval '100 s' AS in_60s_more
FROM flowcontrol.flow_run WHERE id = :r;
COMMIT;
SET flowcontrol.time_offset = '99 s';
SELECT flowcontrol.continue_flowruns();
-- the fourth attempt succeeds: attempt is 0 again and the run goes on
SET flowcontrol.time_offset = '100 s';
SELECT flowcontrol.continue_flowruns();
SELECT status, outcome, attempt, state, masked(log) AS log FROM flowcontrol.flow_run WHERE id = :r;
-- only the successful attempt's effects are kept
SELECT attempt, note FROM retry_effects ORDER BY attempt;
RESET flowcontrol.time_offset;

-- attempts run out: the run ends errored after max_attempts failures
SELECT flowcontrol.define_flow('{"name": "gives up", "active": true, "actions": [
	{"action": "Flaky", "config": {"fail_times": 10}, "retry": {"max_attempts": 2}}]}') AS gives_up \gset
SELECT id AS g FROM flowcontrol.start_flowrun(:gives_up) \gset
SET flowcontrol.time_offset = '1 s';
SELECT flowcontrol.continue_flowruns();
RESET flowcontrol.time_offset;
SELECT status, outcome, attempt, masked(log) AS log FROM flowcontrol.flow_run WHERE id = :g;
-- reset_flowrun starts over with attempt 0
SELECT status, attempt FROM flowcontrol.reset_flowrun(:g);
-- without a retry policy a failure counts once and ends the run
SELECT status, outcome, attempt, masked(log) AS log FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "no retry", "active": true, "actions": [{"action": "Flaky", "config": {"fail_times": 1}}]}'));

-- the counter is per action: a second flaky action starts from 0
SELECT flowcontrol.define_flow('{"name": "two flaky", "active": true, "actions": [
	{"action": "Flaky", "config": {"fail_times": 1}, "retry": {"max_attempts": 2, "initial_interval": 5}},
	{"action": "Flaky", "config": {"fail_times": 1}, "retry": {"max_attempts": 2, "initial_interval": 7}}]}') AS two \gset
SELECT id AS t FROM flowcontrol.start_flowrun(:two) \gset
SELECT status, attempt FROM flowcontrol.flow_run WHERE id = :t;
SET flowcontrol.time_offset = '5 s';
BEGIN;
SELECT flowcontrol.continue_flowruns();
SELECT status, attempt, continue_after = now() + interval '12 s' AS second_action_waits_7s
FROM flowcontrol.flow_run WHERE id = :t;
COMMIT;
SET flowcontrol.time_offset = '12 s';
SELECT flowcontrol.continue_flowruns();
RESET flowcontrol.time_offset;
SELECT status, outcome, attempt FROM flowcontrol.flow_run WHERE id = :t;

-- a timeout is a failure like another: retried
SELECT flowcontrol.define_flow('{"name": "slow retried", "active": true, "actions": [
	{"action": "Sleeper", "config": {"seconds": 30}, "timeout": 0.1, "retry": {"max_attempts": 2, "initial_interval": 3}}]}') AS slow_retried \gset
BEGIN;
SELECT status, attempt, continue_after = now() + interval '3 s' AS in_3s, masked(log) AS log
FROM flowcontrol.start_flowrun(:slow_retried);
COMMIT;

-- a failing return hook is not retried: the run ends errored
CREATE FUNCTION enter_children(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'enter'::flowcontrol.directive $$;
CREATE FUNCTION fail_on_return(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'return hook failed';
END $$;
SELECT flowcontrol.register_action('RetryParent', 'enter_children(flowcontrol.flow_run,jsonb,jsonb)',
								   'fail_on_return(flowcontrol.flow_run,jsonb,jsonb)', true);
SELECT status, outcome, attempt, state, masked(log) AS log FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "return hook", "active": true, "actions": [{"action": "RetryParent", "retry": {"max_attempts": 3},
	  "children": [{"action": "UpdateStateAction", "config": {"state": {"child": true}}}]}]}'));

-- an action may read its attempt, but not change it
CREATE FUNCTION bump_attempt(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb,
							 OUT directive flowcontrol.directive) LANGUAGE plpgsql AS $$
BEGIN
	run.attempt := run.attempt + 1;
END $$;
SELECT flowcontrol.register_action('BumpAttempt', 'bump_attempt(flowcontrol.flow_run,jsonb,jsonb)');
SELECT status, outcome, attempt, masked(log) AS log FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "bump", "active": true, "actions": [{"action": "BumpAttempt"}]}'));

-- error paths: caught errors and failing savepoints around runs that time
-- out or wait for a retry leave the session working, with no timer armed
DO $$
BEGIN
	PERFORM flowcontrol.start_flowrun(id) FROM flowcontrol.flow WHERE name = 'slow retried';
	RAISE EXCEPTION 'after the run';
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE 'caught: %', SQLERRM;
END $$;
BEGIN;
SAVEPOINT s;
SELECT status, attempt FROM flowcontrol.start_flowrun(:slow_retried);
SELECT 1 / 0;
ROLLBACK TO s;
SELECT pg_sleep(0.2) IS NOT NULL AS slept;
COMMIT;
SELECT pg_sleep(0.2) IS NOT NULL AS slept;
SELECT count(*) AS runs_left FROM flowcontrol.flow_run WHERE flow_id = :slow_retried;
-- a transient error (here a serialization failure) escapes a timed action
-- and continue_flowruns(): it is neither retried nor counted, and the
-- caller's handler finds no timer left armed
CREATE FUNCTION serial_failure(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'could not serialize' USING ERRCODE = 'serialization_failure';
END $$;
SELECT flowcontrol.register_action('SerialFailure', 'serial_failure(flowcontrol.flow_run,jsonb,jsonb)');
DELETE FROM flowcontrol.flow_run;
SELECT id AS sf FROM flowcontrol.create_flowrun(flowcontrol.define_flow('{"name": "transient", "active": true,
	"actions": [{"action": "SerialFailure", "timeout": 0.1, "retry": {"max_attempts": 3}}]}')) \gset
DO $$
BEGIN
	PERFORM flowcontrol.continue_flowruns();
EXCEPTION WHEN serialization_failure THEN
	RAISE NOTICE 'caught: %', SQLERRM;
	PERFORM pg_sleep(0.2);
END $$;
SELECT status, attempt, log FROM flowcontrol.flow_run WHERE id = :sf;
SELECT pg_sleep(0.2) IS NOT NULL AS slept;
