-- The seed's tests/test_actions.py, one block per test.  The seed calls an
-- action's run() directly; here each action runs in a one-action flow (on
-- the fixture "flow" of seed_fixtures.sql, whose run has no object) and its
-- directive shows in what the run does next: "enter" runs the children
-- (they set "entered"), "continue" goes on, "suspend" waits, "abort" ends
-- the run aborted.
CREATE FUNCTION seed_act(actions jsonb, state jsonb DEFAULT '{}') RETURNS flowcontrol.flow_run
LANGUAGE plpgsql AS $$
DECLARE
	f bigint := seed_flow();
BEGIN
	PERFORM make_action_tree(f, actions);
	RETURN flowcontrol.start_flowrun(f, state => state);
END
$$;
CREATE FUNCTION pg_temp.render_template(template text, context jsonb) RETURNS text
LANGUAGE C AS '$libdir/flowcontrol', 'flowcontrol_render_template';

-- seed: test_actions.py::test_base_action
-- Deliberately different: there is no base class; an action needs a run
-- function, and without a return function it continues after its children.
SELECT seed_fresh();
SELECT try($$SELECT flowcontrol.register_action('BaseAction', NULL)$$);

-- seed: test_actions.py::test_if_action_empty_condition
SELECT seed_fresh();
SELECT status, outcome, state FROM seed_act('[{"action": "IfAction", "config": {"condition": ""},
	"children": [{"action": "UpdateStateAction", "config": {"state": {"entered": true}}}]}]');

-- seed: test_actions.py::test_if_action_true_condition
SELECT seed_fresh();
SELECT status, outcome, state FROM seed_act('[{"action": "IfAction", "config": {"condition": "True"},
	"children": [{"action": "UpdateStateAction", "config": {"state": {"entered": true}}}]}]');

-- seed: test_actions.py::test_if_action_false_condition
SELECT seed_fresh();
SELECT status, outcome, state FROM seed_act('[{"action": "IfAction", "config": {"condition": "False"},
	"children": [{"action": "UpdateStateAction", "config": {"state": {"entered": true}}}]}]');

-- seed: test_actions.py::test_if_action_context_condition
SELECT seed_fresh();
SELECT s AS state, (seed_act('[{"action": "IfAction", "config": {"condition": "foo == ''bar''"},
	"children": [{"action": "UpdateStateAction", "config": {"state": {"entered": true}}}]}]', s)).state ? 'entered' AS entered
FROM unnest(ARRAY['{}', '{"foo": "bad"}', '{"foo": "bar"}']::jsonb[]) AS s;

-- seed: test_actions.py::test_delay_action_sets_continue_after
SELECT seed_fresh();
SELECT status, continue_after = now() + interval '65 seconds' AS continue_after_is_base_plus_delta
FROM seed_act(jsonb_build_array(jsonb_build_object('action', 'DelayAction', 'config',
	jsonb_build_object('seconds', 65, 'base_date_template', format('''%s''', now())))));

-- seed: test_actions.py::test_delay_is_in_past (action_if_past x is_past)
SELECT seed_fresh();
SELECT a AS action_if_past, p AS is_past, r.status, r.outcome,
	   r.continue_after = base + interval '5 seconds' AS continue_after_is_base_plus_delta
FROM unnest(ARRAY['suspend', 'leave', 'break', 'abort']) AS a,
	 unnest(ARRAY[true, false]) AS p,
	 LATERAL (SELECT CASE WHEN p THEN now() - interval '20 seconds' ELSE now() END AS base) b,
	 LATERAL seed_act(jsonb_build_array(jsonb_build_object('action', 'DelayAction', 'config',
		jsonb_build_object('seconds', 5, 'action_if_past', a, 'base_date_template', format('''%s''', base))))) r
ORDER BY p DESC, a;

-- seed: test_actions.py::test_delay_representation
-- Deliberately different: a Delay config has no text form (the seed's
-- str(Delay) is for its admin); flow_diagram() labels actions by name.

-- seed: test_actions.py::test_delay_timedelta
-- (the computed time is kept as continue_after even though it is past)
SELECT seed_fresh();
SELECT d AS deltas,
	   to_char((seed_act(jsonb_build_array(jsonb_build_object('action', 'DelayAction', 'config',
		 d || '{"base_date_template": "''2025-01-29T00:00:00Z''", "timezone": "UTC"}')))).continue_after
		 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS resulting_date
FROM unnest(ARRAY['{"seconds": 30}', '{"seconds": 61}', '{"seconds": 3605}', '{"months": 1}',
				  '{"weekday": 0}', '{"weekday": 6}', '{"time": "05:29"}',
				  '{"months": 2, "seconds": 604800, "weekday": 0, "time": "05:29"}']::jsonb[])
	 WITH ORDINALITY AS t(d, n)
ORDER BY n;

-- seed: test_actions.py::test_delay_bad_base_template
SELECT seed_fresh();
SELECT outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log
FROM seed_act('[{"action": "DelayAction", "config": {"base_date_template": "foo"}}]', '{"foo": 1}');

-- seed: test_actions.py::test_abort_action
SELECT seed_fresh();
SELECT status, outcome FROM seed_act('[{"action": "AbortAction"}]');

-- seed: test_actions.py::test_set_state_action
SELECT seed_fresh();
SELECT status, state FROM seed_act('[{"action": "SetStateAction", "config": {"state": {"foo": "bar"}}}]',
	'{"foo": "bar", "_internal": "baz"}');

-- seed: test_actions.py::test_set_state_action_evaluate
SELECT seed_fresh();
SELECT status, state FROM seed_act('[{"action": "SetStateAction", "config": {"state": {"foo": "foo|add:''bar''"}, "evaluate": true}}]',
	'{"foo": "bar", "_internal": "baz"}');

-- seed: test_actions.py::test_update_state_action
SELECT seed_fresh();
SELECT status, state FROM seed_act('[{"action": "UpdateStateAction", "config": {"state": {"baz": "qux"}}}]',
	'{"foo": "bar"}');

-- seed: test_actions.py::test_update_state_action_evaluate
SELECT seed_fresh();
SELECT status, state FROM seed_act('[{"action": "UpdateStateAction", "config": {"state": {
	"baz": "''qux''", "foo": "foo|startswith:\"b\"", "bar": "foo|add:\"-\"|add:bar"}, "evaluate": true}}]',
	'{"foo": "bar", "bar": "boo"}');

-- seed: test_actions.py::test_empty_for_loop_action
SELECT seed_fresh();
SELECT status, state FROM seed_act('[{"action": "ForLoopAction", "config": {"var_name": "i", "start": 0, "end": 0, "step": 1},
	"children": [{"action": "UpdateStateAction", "config": {"state": {"entered": true}}}]}]');

-- seed: test_actions.py::test_forloop_missing_var
-- (a child corrupts the run state: SetStateAction replaces it)
SELECT seed_fresh();
SELECT status, outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log
FROM seed_act('[{"action": "ForLoopAction", "config": {"var_name": "i", "start": 0, "end": 3, "step": 1},
	"children": [{"action": "SetStateAction", "config": {"state": {}}}]}]');

-- seed: test_actions.py::test_for_loop_action
SELECT seed_fresh();
SELECT status, state FROM seed_act('[{"action": "ForLoopAction", "config": {"var_name": "i", "start": 0, "end": 3, "step": 1},
	"children": [{"action": "UpdateStateAction", "config": {"state": {"seen": "seen|default:0|add:1", "last": "i"}, "evaluate": true}}]}]');

-- seed: test_actions.py::test_while_loop_action
SELECT seed_fresh();
SELECT status, state FROM seed_act('[{"action": "WhileLoopAction", "config": {"condition": "counter < 2"},
	"children": [{"action": "UpdateStateAction", "config": {"state": {"counter": "counter|add:1", "rounds": "rounds|default:0|add:1"}, "evaluate": true}}]}]',
	'{"counter": 0}');

-- seed: test_actions.py::test_start_flow_action
SELECT seed_fresh();
SELECT seed_user() AS "user",
	   flowcontrol.define_flow('{"name": "Parent Flow", "active": true}') AS parent_flow,
	   flowcontrol.define_flow('{"name": "Sub Flow", "active": true}') AS start_flow \gset
SELECT make_action_tree(:parent_flow, format('[{"action": "StartFlowAction",
	"config": {"start_flow": %s, "pass_state": true, "pass_object": false}}]', :start_flow)::jsonb);
SELECT id AS run FROM flowcontrol.start_flowrun(:parent_flow, 'auth_user', :'user', '{"foo": "bar"}') \gset
SELECT count(*) AS sub_runs, bool_and(continue_after IS NULL) AS no_continue_after,
	   min(status::text) AS status, min(state::text) AS state, bool_and(object_id IS NULL) AS no_object
FROM flowcontrol.flow_run WHERE flow_id = :start_flow AND parent_run_id = :run;

-- seed: test_actions.py::test_condition_config_bad_template
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT regexp_replace(try(format($$SELECT flowcontrol.add_action(%s, 'IfAction', '{"condition": "foo =bad= ''bar''"}')$$, :flow)),
					  '(action|flow) \d+', '\1 N', 'g') AS refused;

-- seed: test_actions.py::test_add_child_to_action
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT flowcontrol.add_action(:flow, 'SetStateAction', '{"state": {"foo": "bar"}}') AS state \gset
SELECT try(format($$SELECT flowcontrol.add_action(%s, 'IfAction', '{"condition": "foo == ''bar''"}', %s)$$, :flow, :state));

-- seed: test_actions.py::test_add_child_wrong_flow
SELECT seed_fresh();
SELECT seed_flow() AS flow, flowcontrol.define_flow('{"name": "Other flow"}') AS other_flow \gset
SELECT flowcontrol.add_action(:flow, 'IfAction', '{"condition": "foo == ''bar''"}') AS if_action \gset
SELECT try(format($$SELECT flowcontrol.add_action(%s, 'SetStateAction', '{"state": {"foo": "bar"}}', %s)$$, :other_flow, :if_action));
SELECT try(format($$INSERT INTO flowcontrol.flow_action (flow_id, parent_id, position, action, config)
	VALUES (%s, %s, 0, 'SetStateAction', '{"state": {"foo": "bar"}}')$$, :other_flow, :if_action));

-- seed: test_actions.py::test_send_alert
-- Deliberately different: the seed mails the MANAGERS; flowcontrol sends a
-- NOTIFY (its payload, with the session's PID, is shown in doc/actions.md,
-- not here).  Not templated, the body stays as it is.
SELECT seed_fresh();
SELECT status, outcome FROM seed_act('[{"action": "SendAlertAction",
	"config": {"subject": "Alert", "body": "{{ test }}", "templated": false, "channel": "seed_alerts"}}]', '{"test": "foobar"}');

-- seed: test_actions.py::test_send_alert_templated
SELECT seed_fresh();
SELECT status, outcome FROM seed_act('[{"action": "SendAlertAction",
	"config": {"subject": "Alert", "body": "{{ test }}", "templated": true, "recipient": "info@example.com",
			   "channel": "seed_alerts"}}]', '{"test": "foobar"}');
SELECT pg_temp.render_template('{{ test }}', '{"test": "foobar"}') AS body;
