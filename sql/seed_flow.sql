-- The seed's tests/test_flow.py, one block per test, on the fixtures of
-- seed_fixtures.sql: its "flow" names an object table and most tests start
-- it without an object.  Each block shows what the seed asserts.

-- seed: test_flow.py::test_forloop_flow
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 5}}},
	{"action": "ForLoopAction", "config": {"end": 3}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:2"}, "evaluate": true}}]}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow, 'auth_user', :'user');

-- seed: test_flow.py::test_whileloop_flow
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "WhileLoopAction", "config": {"condition": "i < 5"}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow, 'auth_user', :'user');

-- seed: test_flow.py::test_hot_loop_detection
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "WhileLoopAction", "config": {"condition": "True"}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]}]');
SELECT id AS run FROM flowcontrol.create_flowrun(:flow, 'auth_user', :'user') \gset
SELECT status, outcome, state->'i' AS i, untimed(log) LIKE '%Loop times 5 exceeded in flow run%' AS logged
FROM flowcontrol.execute_flowrun(:run, max_hot_loop => 5);

-- seed: test_flow.py::test_run_with_no_object
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[{"action": "SetStateAction", "config": {"state": {"i": 0}}}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_run_with_object_gone_missing
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[{"action": "SetStateAction", "config": {"state": {"i": 0}}}]');
SELECT seed_user() AS "user" \gset
SELECT id AS run FROM flowcontrol.create_flowrun(:flow, 'auth_user', :'user') \gset
DELETE FROM auth_user WHERE id = :'user';
SELECT status, outcome FROM flowcontrol.execute_flowrun(:run);

-- seed: test_flow.py::test_if_action
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "IfAction", "config": {"condition": "True"}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_bad_if_action
-- Deliberately different (doc/migration.md): the seed saves the condition
-- and the run ends errored at the IfAction with i = 0; flowcontrol refuses
-- to save a flow that cannot run, naming where the error is.
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "IfAction", "config": {"condition": "i !bad= 5"}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');

-- seed: test_flow.py::test_leave_action
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "IfAction", "config": {"condition": "True"}, "children": [
		{"action": "LeaveAction"},
		{"action": "SetStateAction", "config": {"state": {"i": 5}}}]},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_break_action[{"condition": ""}]
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "WhileLoopAction", "config": {"condition": "True"}, "children": [
		{"action": "SetStateAction", "config": {"state": {"i": 5}}},
		{"action": "BreakAction", "config": {"condition": ""}}]},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_break_action[{"condition": "True"}]
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "WhileLoopAction", "config": {"condition": "True"}, "children": [
		{"action": "SetStateAction", "config": {"state": {"i": 5}}},
		{"action": "BreakAction", "config": {"condition": "True"}}]},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_break_action_false
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "IfAction", "config": {"condition": "True"}, "children": [
		{"action": "BreakAction", "config": {"condition": "False"}},
		{"action": "SetStateAction", "config": {"state": {"i": 5}}}]},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_stop_action
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "WhileLoopAction", "config": {"condition": "True"}, "children": [
		{"action": "SetStateAction", "config": {"state": {"i": 5}}},
		{"action": "AbortAction"}]},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_enter_with_no_children
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "IfAction", "config": {"condition": "True"}},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_start_flow_action_immediate
SELECT seed_fresh();
SELECT seed_flow() AS flow, flowcontrol.define_flow('{"name": "", "active": true}') AS sub_flow \gset
SELECT make_action_tree(:sub_flow, '[
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT make_action_tree(:flow, format('[
	{"action": "SetStateAction", "config": {"state": {"i": 5}}},
	{"action": "StartFlowAction", "config": {"start_flow": %s, "immediate": true}},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]', :sub_flow)::jsonb);
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);
-- state was not passed
SELECT status, outcome, state->'i' AS i FROM flowcontrol.flow_run WHERE flow_id = :sub_flow ORDER BY id LIMIT 1;

-- seed: test_flow.py::test_start_flow_action_limit
SELECT seed_fresh();
SELECT seed_flow() AS flow, flowcontrol.define_flow('{"name": "", "active": true, "max_concurrent": 1}') AS sub_flow \gset
SELECT id AS already FROM flowcontrol.create_flowrun(:sub_flow) \gset
SELECT make_action_tree(:sub_flow, '[
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT make_action_tree(:flow, format('[
	{"action": "SetStateAction", "config": {"state": {"i": 5}}},
	{"action": "StartFlowAction", "config": {"start_flow": %s, "immediate": true}},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]', :sub_flow)::jsonb);
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);
SELECT count(*) AS sub_runs, bool_and(id = :already) AS sub_run_is_already
FROM flowcontrol.flow_run WHERE flow_id = :sub_flow;

-- seed: test_flow.py::test_flowrun_suspend_resume
-- (a DelayAction without config: due now, so it suspends and is due at once)
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "DelayAction"},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT id AS run, status, outcome IS NULL AS no_outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow) \gset
SELECT :'status' AS status, :'no_outcome' AS no_outcome, :'i' AS i;
SELECT status, outcome, state->'i' AS i FROM flowcontrol.execute_flowrun(:run);

-- seed: test_flow.py::test_nested_break
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT make_action_tree(:flow, '[
	{"action": "SetStateAction", "config": {"state": {"i": 0}}},
	{"action": "IfAction", "config": {"condition": "True"}, "children": [
		{"action": "IfAction", "config": {"condition": "True"}, "children": [{"action": "BreakAction"}]}]},
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]');
SELECT status, outcome, state->'i' AS i FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_inactive_flow
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT flowcontrol.deactivate_flow(:flow);
SELECT try(format('SELECT flowcontrol.create_flowrun(%s)', :flow));

-- seed: test_flow.py::test_active_flow_manager_method
SELECT seed_fresh();
SELECT flowcontrol.define_flow('{"name": "Active", "active": true}') AS active_flow \gset
SELECT flowcontrol.define_flow('{"name": "Inactive", "active": false}') IS NOT NULL AS inactive;
SELECT flowcontrol.activate_flow(flowcontrol.define_flow('{"name": "Soon active"}'), now() + interval '5 hours');
SELECT count(*) AS active_flows, bool_and(id = :active_flow) AS is_active_flow
FROM flowcontrol.flow WHERE active_at <= now();

-- seed: test_flow.py::test_flow_limit_max_concurrent
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
UPDATE flowcontrol.flow SET max_concurrent = 1 WHERE id = :flow;
SELECT (flowcontrol.create_flowrun(:flow)).id IS NOT NULL AS run_is_not_none;
SELECT flowcontrol.create_flowrun(:flow) IS NULL AS run_is_none;

-- seed: test_flow.py::test_flow_limit_max_per_object
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
UPDATE flowcontrol.flow SET max_per_object = 1 WHERE id = :flow;
SELECT status, outcome FROM flowcontrol.start_flowrun(:flow, 'auth_user', :'user');
SELECT flowcontrol.start_flowrun(:flow, 'auth_user', :'user') IS NULL AS run_is_none;

-- seed: test_flow.py::test_flow_limit_max_concurrent_per_object
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
UPDATE flowcontrol.flow SET max_concurrent_per_object = 1 WHERE id = :flow;
SELECT status, outcome FROM flowcontrol.start_flowrun(:flow, 'auth_user', :'user');
SELECT status FROM flowcontrol.create_flowrun(:flow, 'auth_user', :'user');
SELECT flowcontrol.create_flowrun(:flow, 'auth_user', :'user') IS NULL AS run_is_none;
UPDATE flowcontrol.flow SET max_concurrent_per_object = 0 WHERE id = :flow;
SELECT status FROM flowcontrol.create_flowrun(:flow, 'auth_user', :'user');

-- seed: test_flow.py::test_suspend_no_continue_timestamp
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
CREATE FUNCTION bad_suspend(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'suspend'::flowcontrol.directive $$;
SELECT flowcontrol.register_action('BadSuspend', 'bad_suspend(flowcontrol.flow_run,jsonb,jsonb)');
SELECT make_action_tree(:flow, '[{"action": "BadSuspend"}]');
SELECT id AS run FROM flowcontrol.start_flowrun(:flow) \gset
SELECT status, outcome IS NULL AS no_outcome, continue_after IS NOT NULL AS has_continue_after
FROM flowcontrol.flow_run WHERE id = :run;

-- seed: test_flow.py::test_action_exception
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
CREATE FUNCTION bad_action(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'KeyError'; END $$;
SELECT flowcontrol.register_action('BadAction', 'bad_action(flowcontrol.flow_run,jsonb,jsonb)');
SELECT make_action_tree(:flow, '[{"action": "BadAction"}]');
SELECT id AS run FROM flowcontrol.start_flowrun(:flow) \gset
SELECT status, outcome, untimed(log) LIKE '%KeyError%' AS logged FROM flowcontrol.flow_run WHERE id = :run;
UPDATE flowcontrol.flow_run SET done_at = NULL, status = 'pending' WHERE id = :run;
SELECT status, outcome FROM flowcontrol.execute_flowrun(:run);

-- seed: test_flow.py::test_action_return_none
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
CREATE FUNCTION none_action(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT NULL::flowcontrol.directive $$;
SELECT flowcontrol.register_action('NoneAction', 'none_action(flowcontrol.flow_run,jsonb,jsonb)');
SELECT make_action_tree(:flow, '[{"action": "NoneAction"}]');
SELECT status, outcome FROM flowcontrol.start_flowrun(:flow);

-- seed: test_flow.py::test_action_bad_directive
-- Deliberately different (doc/migration.md): an action function returns
-- flowcontrol.directive, so it cannot return 1000 (the seed's run ends
-- errored with a TypeError); a function of another result type is refused
-- when it is registered.
SELECT seed_fresh();
CREATE FUNCTION bad_directive_action(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS integer LANGUAGE sql AS $$ SELECT 1000 $$;
SELECT try($$SELECT flowcontrol.register_action('BadDirectiveAction', 'bad_directive_action(flowcontrol.flow_run,jsonb,jsonb)')$$);

-- seed: test_flow.py::test_missing_action
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
CREATE FUNCTION action_gon_missing(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'continue'::flowcontrol.directive $$;
SELECT flowcontrol.register_action('ActionGonMissing', 'action_gon_missing(flowcontrol.flow_run,jsonb,jsonb)');
SELECT make_action_tree(:flow, '[{"action": "ActionGonMissing"}]');
DROP FUNCTION action_gon_missing(flowcontrol.flow_run, jsonb, jsonb);
SELECT id AS run FROM flowcontrol.start_flowrun(:flow) \gset
SELECT status, outcome, untimed(log) LIKE '%Action ActionGonMissing is missing or not found%' AS logged
FROM flowcontrol.flow_run WHERE id = :run;

-- seed: test_flow.py::test_execute_done_flow
SELECT seed_fresh();
SELECT seed_flowrun(seed_flow(), seed_user()) AS flowrun \gset
UPDATE flowcontrol.flow_run SET status = 'done' WHERE id = :flowrun;
SELECT flowcontrol.execute_flowrun(:flowrun) IS NULL AS not_executed;

-- seed: test_flow.py::test_execute_flow_waiting_no_continue_after
SELECT seed_fresh();
SELECT seed_flowrun(seed_flow(), seed_user()) AS flowrun \gset
UPDATE flowcontrol.flow_run SET status = 'waiting', continue_after = NULL WHERE id = :flowrun;
SELECT try(format('SELECT flowcontrol.execute_flowrun(%s)', :flowrun));

-- seed: test_flow.py::test_execute_flow_waiting_no_action
SELECT seed_fresh();
SELECT seed_flowrun(seed_flow(), seed_user()) AS flowrun \gset
UPDATE flowcontrol.flow_run SET status = 'waiting', continue_after = now(), action_id = NULL WHERE id = :flowrun;
SELECT try(format('SELECT flowcontrol.execute_flowrun(%s)', :flowrun));

-- seed: test_flow.py::test_execute_flow_waiting_too_early
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT seed_flowrun(:flow, seed_user()) AS flowrun, seed_flow_action(:flow) AS flow_action \gset
UPDATE flowcontrol.flow_run SET status = 'waiting', continue_after = now() + interval '5 hours',
	action_id = :flow_action WHERE id = :flowrun;
SELECT status FROM flowcontrol.execute_flowrun(:flowrun);

-- seed: test_flow.py::test_runnable_flowruns
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
INSERT INTO flowcontrol.flow_run (flow_id, status, continue_after) VALUES
	(:flow, 'pending', NULL), (:flow, 'waiting', now()), (:flow, 'done', NULL),
	-- broken states
	(:flow, 'waiting', NULL), (:flow, 'pending', now());
SELECT count(*) AS runnable, array_agg(r.status ORDER BY r.id) AS statuses
FROM flowcontrol.runnable_runs r;

-- seed: test_flow.py::test_suspend_and_repeat
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
CREATE FUNCTION suspend_and_repeat_action(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb,
										  OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$
BEGIN
	run.state := run.state || jsonb_build_object('i', coalesce((run.state->>'i')::int, 0) + 1);
	directive := CASE WHEN (run.state->>'i')::int < 3 THEN 'suspend_and_repeat' ELSE 'continue' END;
END
$$;
SELECT flowcontrol.register_action('SuspendAndRepeatAction',
	'suspend_and_repeat_action(flowcontrol.flow_run,jsonb,jsonb)');
SELECT make_action_tree(:flow, '[{"action": "SuspendAndRepeatAction"}]');
SELECT id AS run FROM flowcontrol.create_flowrun(:flow) \gset
SELECT status, state->'i' AS i, continue_after IS NOT NULL AS has_continue_after, repeat_action
FROM flowcontrol.execute_flowrun(:run);
SELECT status, state->'i' AS i, continue_after IS NOT NULL AS has_continue_after, repeat_action
FROM flowcontrol.execute_flowrun(:run);
SELECT status, outcome, state->'i' AS i, continue_after IS NULL AS no_continue_after, repeat_action
FROM flowcontrol.execute_flowrun(:run);

-- seed: test_flow.py::test_flowrun_logging
-- (each line flowcontrol writes starts with its time: shown through untimed())
SELECT seed_fresh();
SELECT seed_flowrun(seed_flow(), seed_user()) AS flowrun \gset
SELECT untimed(log) AS log FROM flowcontrol.append_log(:flowrun, 'Test 1');
SELECT untimed(log) AS log FROM flowcontrol.flow_run WHERE id = :flowrun;
SELECT untimed(log) = E'Test 1\nTest 2' AS two_lines FROM flowcontrol.append_log(:flowrun, 'Test 2');
