-- The seed's tests/test_triggers.py, one block per test, on the fixtures of
-- seed_fixtures.sql.  Each block shows what the seed asserts.

-- seed: test_triggers.py::test_trigger_flowrun
-- (the flow names an object table; the trigger fires without an object)
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT seed_trigger(:flow) AS trigger \gset
SELECT count(*) AS runs, bool_and(flow_id = :flow) AS same_flow, bool_and(trigger_id = :trigger) AS same_trigger
FROM flowcontrol.trigger_flows('trigger_name');

-- seed: test_triggers.py::test_conditional_trigger_flowrun
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
INSERT INTO flowcontrol.trigger (flow_id, trigger_name, active_at, condition)
VALUES (:flow, 'trigger_name', now(), 'object.username == ''example''');
SELECT count(*) AS runs FROM flowcontrol.trigger_flows('trigger_name', 'auth_user', :'user');
UPDATE auth_user SET username = 'example' WHERE id = :'user';
SELECT count(*) AS runs FROM flowcontrol.trigger_flows('trigger_name', 'auth_user', :'user');

-- seed: test_triggers.py::test_trigger_flowrun_limited
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT seed_trigger(:flow) IS NOT NULL AS has_trigger;
UPDATE flowcontrol.flow SET max_concurrent = 1 WHERE id = :flow;
SELECT (flowcontrol.create_flowrun(:flow)).id IS NOT NULL AS run_is_not_none;
SELECT count(*) AS runs FROM flowcontrol.trigger_flows('trigger_name');

-- seed: test_triggers.py::test_wait_for_trigger_scheduled
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_wait_trigger() AS wait_trigger \gset
SELECT make_action_tree(:flow, format('[{"action": "WaitForTriggerAction", "config": {"trigger": %s}}]', :wait_trigger)::jsonb);
SELECT status, waiting_trigger_id = :wait_trigger AS waits, continue_after IS NULL AS no_continue_after
FROM flowcontrol.start_flowrun(:flow);
SELECT count(*) AS runs, bool_and(waiting_trigger_id IS NULL) AS no_waiting_trigger,
	   bool_and(continue_after IS NOT NULL) AS has_continue_after
FROM flowcontrol.trigger_flows('wait_trigger_name');

-- seed: test_triggers.py::test_wait_for_trigger_immediate
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_wait_trigger() AS wait_trigger \gset
SELECT make_action_tree(:flow, format('[{"action": "WaitForTriggerAction", "config": {"trigger": %s}}]', :wait_trigger)::jsonb);
SELECT id AS started_run, status, waiting_trigger_id = :wait_trigger AS waits, continue_after IS NULL AS no_continue_after
FROM flowcontrol.start_flowrun(:flow) \gset
SELECT :'status' AS status, :'waits' AS waits, :'no_continue_after' AS no_continue_after;
SELECT count(*) AS runs FROM flowcontrol.trigger_flows('wait_trigger_name', immediate => true);
SELECT waiting_trigger_id IS NULL AS no_waiting_trigger, continue_after IS NULL AS no_continue_after, status
FROM flowcontrol.flow_run WHERE id = :started_run;

-- seed: test_triggers.py::test_wait_for_trigger_object_immediate
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_wait_trigger() AS wait_trigger, seed_user() AS "user", seed_user('admin') AS admin_user \gset
SELECT make_action_tree(:flow, format('[{"action": "WaitForTriggerAction", "config": {"trigger": %s, "require_object": true}}]', :wait_trigger)::jsonb);
SELECT id AS started_run, status FROM flowcontrol.start_flowrun(:flow, 'auth_user', :'user') \gset
SELECT :'status' AS status;
SELECT count(*) AS runs FROM flowcontrol.trigger_flows('wait_trigger_name', 'auth_user', :'admin_user', immediate => true);
SELECT count(*) AS runs FROM flowcontrol.trigger_flows('wait_trigger_name', 'auth_user', :'user', immediate => true);
SELECT waiting_trigger_id IS NULL AS no_waiting_trigger, continue_after IS NULL AS no_continue_after, status
FROM flowcontrol.flow_run WHERE id = :started_run;

-- seed: test_triggers.py::test_trigger_reset_to_action
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT seed_trigger(:flow) AS trigger, seed_flow_action(:flow) AS flow_action \gset
UPDATE flowcontrol.trigger SET reset_to_action_id = :flow_action WHERE id = :trigger;
SELECT id AS old_run, action_id IS NULL AS no_action, status, repeat_action
FROM flowcontrol.create_flowrun(:flow) \gset
SELECT :'no_action' AS no_action, :'status' AS status, :'repeat_action' AS repeat_action;
SELECT count(*) AS runs, bool_and(id = :old_run) AS same_run, bool_and(action_id = :flow_action) AS at_action,
	   min(status::text) AS status, bool_and(repeat_action) AS repeat_action
FROM flowcontrol.trigger_flows('trigger_name');

-- seed: test_triggers.py::test_trigger_reset_to_action_already_done
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT seed_trigger(:flow) AS trigger, seed_flow_action(:flow) AS flow_action \gset
UPDATE flowcontrol.trigger SET reset_to_action_id = :flow_action WHERE id = :trigger;
SELECT id AS old_run FROM flowcontrol.create_flowrun(:flow) \gset
UPDATE flowcontrol.flow_run SET status = 'done', outcome = 'complete' WHERE id = :old_run;
SELECT count(*) AS runs FROM flowcontrol.trigger_flows('trigger_name');

-- seed: test_triggers.py::test_trigger_reset_to_action_still_running
-- (the seed raises NotImplementedError)
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT seed_trigger(:flow) AS trigger, seed_flow_action(:flow) AS flow_action \gset
UPDATE flowcontrol.trigger SET reset_to_action_id = :flow_action WHERE id = :trigger;
SELECT id AS old_run FROM flowcontrol.create_flowrun(:flow) \gset
UPDATE flowcontrol.flow_run SET status = 'running' WHERE id = :old_run;
SELECT regexp_replace(try($$SELECT flowcontrol.trigger_flows('trigger_name')$$), 'run \d+', 'run N') AS raises;
