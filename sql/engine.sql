-- Executing runs: the seed's engine scenarios, life-cycle functions and
-- continue_flowruns().  Runs are shown without timestamps.
CREATE VIEW run AS
	SELECT id, status, outcome, state, untimed(log) AS log, action_id IS NOT NULL AS has_action,
		   continue_after IS NOT NULL AS has_continue_after, repeat_action,
		   waiting_trigger_id IS NOT NULL AS waits_for_trigger
	FROM flowcontrol.flow_run;

-- for loop: i = 1 + 5 * 2
-- seed: test_flow.py::test_forloop_flow (and seed_flow.sql)
SELECT flowcontrol.define_flow('{"name": "for", "active": true, "actions": [
	{"action": "SetStateAction", "config": {"state": {"i": 1}}},
	{"action": "ForLoopAction", "config": {"var_name": "n", "end": 5}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:2"}, "evaluate": true}}]}]}') AS for_flow \gset
SELECT status, outcome, state FROM flowcontrol.start_flowrun(:for_flow);

-- while loop
-- seed: test_flow.py::test_whileloop_flow
SELECT flowcontrol.define_flow('{"name": "while", "active": true, "actions": [
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "WhileLoopAction", "config": {"condition": "i < 5"}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]}]}') AS while_flow \gset
SELECT status, outcome, state FROM flowcontrol.start_flowrun(:while_flow);

-- hot loop detection
-- seed: test_flow.py::test_hot_loop_detection
SELECT flowcontrol.define_flow('{"name": "hot", "active": true, "actions": [
	{"action": "WhileLoopAction", "config": {"condition": "True"}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"i": "i|default:0|add:1"}, "evaluate": true}}]}]}') AS hot_flow \gset
SELECT id AS hot_run FROM flowcontrol.create_flowrun(:hot_flow) \gset
SELECT status, outcome, state, untimed(log) ~ '^Loop times 5 exceeded in flow run at UpdateStateAction \(\d+\)\.$' AS logged
FROM flowcontrol.execute_flowrun(:hot_run, 5);
-- a loop action is entered once and returned to once per round: a loop of
-- 1000 rounds fits the default limit of 1000
SELECT status, outcome, state FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "long for", "active": true, "actions": [
	{"action": "ForLoopAction", "config": {"var_name": "n", "end": 1000}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"i": "n"}, "evaluate": true}}]}]}'));

-- if, leave, break (also from a nested loop), abort, enter without children
-- seed: test_flow.py::test_if_action, test_leave_action, test_break_action,
-- test_break_action_false, test_stop_action, test_enter_with_no_children,
-- test_nested_break
SELECT flowcontrol.define_flow('{"name": "branches", "active": true, "actions": [
	{"action": "IfAction", "config": {"condition": "False"}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"skipped": true}}}]},
	{"action": "IfAction", "config": {"condition": "1 == 1"}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"if": true}}},
		{"action": "LeaveAction"},
		{"action": "UpdateStateAction", "config": {"state": {"after_leave": true}}}]},
	{"action": "IfAction", "config": {"condition": "True"}},
	{"action": "WhileLoopAction", "config": {"condition": "True"}, "children": [
		{"action": "WhileLoopAction", "config": {"condition": "True"}, "children": [
			{"action": "UpdateStateAction", "config": {"state": {"inner": "inner|default:0|add:1"}, "evaluate": true}},
			{"action": "BreakAction", "config": {"condition": "inner >= 2"}}]},
		{"action": "UpdateStateAction", "config": {"state": {"outer": "outer|default:0|add:1"}, "evaluate": true}},
		{"action": "BreakAction", "config": {"condition": "outer >= 2"}},
		{"action": "BreakAction", "config": {"condition": "False"}}]},
	{"action": "UpdateStateAction", "config": {"state": {"done": true}}},
	{"action": "AbortAction"},
	{"action": "UpdateStateAction", "config": {"state": {"after_abort": true}}}]}') AS branch_flow \gset
SELECT status, outcome, state FROM flowcontrol.start_flowrun(:branch_flow);

-- leave from a root action ends the run; so does break
SELECT status, outcome FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "root leave", "active": true, "actions": [{"action": "LeaveAction"}, {"action": "AbortAction"}]}'));
SELECT status, outcome FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "root break", "active": true, "actions": [{"action": "BreakAction"}, {"action": "AbortAction"}]}'));
SELECT status, outcome, action_id IS NULL AS no_action FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "empty", "active": true}'));

-- objects: the run sees the row; a deleted row makes the run obsolete
-- seed: test_flow.py::test_run_with_object_gone_missing,
-- test_engine.py::test_start_flowrun_flow_condition_true/_false
CREATE TABLE customer (id int PRIMARY KEY, name text, vip boolean);
INSERT INTO customer VALUES (1, 'Ada', true), (2, 'Bob', false);
SELECT flowcontrol.define_flow('{"name": "greet", "active": true, "condition": "object.name != \"Eve\"", "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"hello": "object.name", "vip": "obj.vip"}, "evaluate": true}}]}') AS greet \gset
SELECT status, outcome, state FROM flowcontrol.start_flowrun(:greet, 'customer', '1');
SELECT id AS bob_run FROM flowcontrol.create_flowrun(:greet, 'customer', '2') \gset
DELETE FROM customer WHERE id = 2;
SELECT status, outcome, untimed(log) AS log FROM flowcontrol.execute_flowrun(:bob_run);
-- flow condition false: obsolete
INSERT INTO customer VALUES (3, 'Eve', false);
SELECT status, outcome, untimed(log) AS log FROM flowcontrol.start_flowrun(:greet, 'customer', '3');
-- a flow bound to a table takes no other objects (NULL, not an error); as in
-- the seed, a run without an object is created all the same
UPDATE flowcontrol.flow SET object_table = 'customer' WHERE id = :greet;
SELECT outcome AS no_object_created
FROM flowcontrol.cancel_flowrun((flowcontrol.create_flowrun(:greet)).id);
SELECT flowcontrol.create_flowrun(:greet, 'flowcontrol.flow', '1') IS NULL AS other_table_refused;

-- limits
-- seed: test_flow.py::test_flow_limit_max_concurrent, test_flow_limit_max_per_object,
-- test_flow_limit_max_concurrent_per_object, test_engine.py::test_cancel_flowrun_with_object
SELECT flowcontrol.define_flow('{"name": "limited", "active": true, "max_concurrent": 2,
	"max_per_object": 3, "max_concurrent_per_object": 1,
	"actions": [{"action": "DelayAction", "config": {"seconds": 3600}}]}') AS lim \gset
SELECT (flowcontrol.create_flowrun(:lim)).status;
SELECT (flowcontrol.create_flowrun(:lim)).status;
SELECT flowcontrol.create_flowrun(:lim) IS NULL AS max_concurrent_reached;
UPDATE flowcontrol.flow SET max_concurrent = 0 WHERE id = :lim;
SELECT (flowcontrol.create_flowrun(:lim, 'customer', '1')).status;
SELECT flowcontrol.create_flowrun(:lim, 'customer', '1') IS NULL AS max_concurrent_per_object_reached;
SELECT (flowcontrol.create_flowrun(:lim, 'customer', '3')).status AS other_object;
SELECT count(*) FROM (SELECT flowcontrol.cancel_flowrun(id) FROM flowcontrol.flow_run
					  WHERE flow_id = :lim AND object_id = '1') c;
SELECT (flowcontrol.create_flowrun(:lim, 'customer', '1')).status;
SELECT flowcontrol.cancel_flowruns_for_object('customer', '1');
SELECT (flowcontrol.create_flowrun(:lim, 'customer', '1')).status;
SELECT flowcontrol.cancel_flowruns_for_object('customer', '1');
SELECT flowcontrol.create_flowrun(:lim, 'customer', '1') IS NULL AS max_per_object_reached;
SELECT outcome, count(*) FROM flowcontrol.flow_run WHERE flow_id = :lim GROUP BY 1 ORDER BY 1;

-- inactive flows refuse to start
-- seed: test_flow.py::test_inactive_flow, test_active_flow_manager_method
SELECT flowcontrol.deactivate_flow(:lim);
SELECT try(format('SELECT flowcontrol.create_flowrun(%s)', :lim));
SELECT try(format('SELECT flowcontrol.start_flowrun(%s)', :lim));
SELECT flowcontrol.activate_flow(:lim, now() + interval '1 day');
SELECT try(format('SELECT flowcontrol.create_flowrun(%s)', :lim));

-- suspend and resume with a delay; continue_flowruns() runs only what is due
-- seed: test_flow.py::test_flowrun_suspend_resume, test_runnable_flowruns,
-- test_engine.py::test_continue_flowrun
SELECT flowcontrol.define_flow('{"name": "delayed", "active": true, "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"step": 1}}},
	{"action": "DelayAction", "config": {"seconds": 3600}},
	{"action": "UpdateStateAction", "config": {"state": {"step": 2}}}]}') AS delayed \gset
SELECT id AS delayed_run FROM flowcontrol.start_flowrun(:delayed) \gset
SELECT status, state, has_action, has_continue_after, repeat_action FROM run WHERE id = :delayed_run;
SELECT (flowcontrol.execute_flowrun(:delayed_run)).state AS not_due_unchanged;
SELECT id = :delayed_run AS runnable FROM flowcontrol.runnable_runs WHERE flow_id = :delayed;
UPDATE flowcontrol.flow_run SET continue_after = now() - interval '1 second' WHERE id = :delayed_run;
SELECT id = :delayed_run AS runnable FROM flowcontrol.runnable_runs WHERE flow_id = :delayed;
SELECT flowcontrol.continue_flowruns();
SELECT status, outcome, state, has_continue_after FROM run WHERE id = :delayed_run;

-- suspend_and_repeat three times, from a user action
-- seed: test_flow.py::test_suspend_and_repeat
CREATE FUNCTION count_to_three(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb,
							   OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$
BEGIN
	run.state := run.state || jsonb_build_object('n', coalesce((run.state->>'n')::int, 0) + 1);
	directive := CASE WHEN (run.state->>'n')::int < 3 THEN 'suspend_and_repeat' ELSE 'continue' END;
END
$$;
SELECT flowcontrol.register_action('CountToThree', 'count_to_three(flowcontrol.flow_run,jsonb,jsonb)');
SELECT id AS rep FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "repeat", "active": true, "actions": [{"action": "CountToThree"}, {"action": "UpdateStateAction", "config": {"state": {"after": true}}}]}')) \gset
SELECT status, state, repeat_action, has_continue_after FROM run WHERE id = :rep;
SELECT status, state, repeat_action FROM flowcontrol.execute_flowrun(:rep);
SELECT status, outcome, state, repeat_action FROM flowcontrol.execute_flowrun(:rep);

-- reset: to an action (waiting, repeat) and to the start (pending)
-- seed: test_engine.py::test_reset_flowrun, test_reset_flowrun_with_action
SELECT action_id AS first_action FROM flowcontrol.flow_run WHERE id = :rep \gset
SELECT id AS count_action FROM flowcontrol.flow_action WHERE action = 'CountToThree' \gset
SELECT status, outcome, state, repeat_action, continue_after = now() AS due_now
FROM flowcontrol.reset_flowrun(:rep, :count_action, state => '{"n": 2}');
SELECT status, outcome, state FROM flowcontrol.execute_flowrun(:rep);
SELECT status, outcome, action_id IS NULL AS no_action, continue_after IS NULL AS no_time, repeat_action
FROM flowcontrol.reset_flowrun(:rep);
SELECT status, state FROM flowcontrol.execute_flowrun(:rep);

-- pause and resume
SELECT id AS paused FROM flowcontrol.create_flowrun(:delayed) \gset
SELECT status FROM flowcontrol.pause_flowrun(:paused);
SELECT count(*) AS paused_not_runnable FROM flowcontrol.runnable_runs WHERE id = :paused;
SELECT flowcontrol.execute_flowrun(:paused) IS NULL AS paused_not_executed;
SELECT status FROM flowcontrol.resume_flowrun(:paused);
SELECT status FROM flowcontrol.execute_flowrun(:paused);
SELECT status FROM flowcontrol.pause_flowrun(:paused);
SELECT status, action_id IS NOT NULL AS has_action, continue_after IS NOT NULL AS has_continue_after
FROM flowcontrol.resume_flowrun(:paused);

-- ending runs by hand, and the log
-- seed: test_engine.py::test_discard_flowrun, test_abort_flowrun, test_error_flowrun,
-- test_cancel_flowrun, test_flow.py::test_flowrun_logging
SELECT status, outcome, untimed(log) AS log FROM flowcontrol.discard_flowrun(:paused, 'no longer needed');
SELECT status, outcome, untimed(log) AS log FROM flowcontrol.append_log(:paused, 'second line');
SELECT untimed(log) AS log FROM flowcontrol.append_log(:paused, '');
-- every line carries its time: now(), in UTC, whatever the session's time zone
SET TimeZone = 'America/New_York';
SELECT log = format(E'%1$s no longer needed\n%1$s second line',
					to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00"')) AS timed_lines
FROM flowcontrol.flow_run WHERE id = :paused;
RESET TimeZone;
SELECT status, outcome FROM flowcontrol.abort_flowrun((flowcontrol.create_flowrun(:delayed)).id);
SELECT status, outcome, untimed(log) AS log FROM flowcontrol.error_flowrun((flowcontrol.create_flowrun(:delayed)).id, 'broken');
SELECT status, outcome FROM flowcontrol.cancel_flowrun((flowcontrol.create_flowrun(:delayed)).id);
SELECT outcome FROM flowcontrol.cancel_flowrun(:paused) AS already_done_kept;
-- pausing or resuming a run that is done warns, as execute_flowrun does
SELECT status, outcome FROM flowcontrol.pause_flowrun(:paused);
SELECT status, outcome FROM flowcontrol.resume_flowrun(:paused);

-- get_context
SELECT flowcontrol.get_context(r, '{"id": 1}') FROM flowcontrol.flow_run r WHERE id = :rep;
SELECT flowcontrol.get_context(r) FROM flowcontrol.flow_run r WHERE id = :rep;

-- continue_flowruns executes each runnable run once per call
SELECT flowcontrol.continue_flowruns();
SELECT count(*) FROM (SELECT flowcontrol.create_flowrun(:for_flow) FROM generate_series(1, 3)) c;
SELECT flowcontrol.continue_flowruns(2);
SELECT flowcontrol.continue_flowruns();
SELECT flowcontrol.continue_flowruns();
SELECT flow_name, status, outcome, runs FROM flowcontrol.flow_stats WHERE flow_name IN ('for', 'delayed') ORDER BY flow_name, status, outcome;

-- invalid
SELECT try('SELECT flowcontrol.execute_flowrun(999999)');
SELECT try('SELECT flowcontrol.execute_flowrun(NULL)');
SELECT try(format('SELECT flowcontrol.execute_flowrun(%s, 0)', :rep));
SELECT flowcontrol.execute_flowrun(:rep) IS NULL AS done_not_executed;
SELECT try('SELECT flowcontrol.create_flowrun(999999)');
SELECT try(format($$SELECT flowcontrol.create_flowrun(%s, state => '[1]')$$, :for_flow));
SELECT try(format($$SELECT flowcontrol.create_flowrun(%s, 'customer')$$, :for_flow));
SELECT try(format($$SELECT flowcontrol.create_flowrun(%s, 'customer', 'not a number')$$, :for_flow));
SELECT try(format($$SELECT flowcontrol.create_flowrun(%s, 'run', '1')$$, :for_flow));
SELECT try(format('SELECT flowcontrol.reset_flowrun(%s, 999999)', :rep));
SELECT try('SELECT flowcontrol.reset_flowrun(999999)');
SELECT try('SELECT flowcontrol.cancel_flowrun(999999)');
SELECT try('SELECT flowcontrol.continue_flowruns(-1)');
-- broken waiting rows
-- seed: test_flow.py::test_execute_flow_waiting_no_continue_after,
-- test_execute_flow_waiting_no_action
SELECT id AS broken FROM flowcontrol.create_flowrun(:delayed) \gset
UPDATE flowcontrol.flow_run SET status = 'waiting' WHERE id = :broken;
SELECT try(format('SELECT flowcontrol.execute_flowrun(%s)', :broken));
UPDATE flowcontrol.flow_run SET continue_after = now() WHERE id = :broken;
SELECT try(format('SELECT flowcontrol.execute_flowrun(%s)', :broken));
-- continue_flowruns records such a failure on the run and goes on
SELECT flowcontrol.continue_flowruns();
SELECT status, outcome, untimed(log) AS log FROM run WHERE id = :broken;
