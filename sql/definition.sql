-- Defining flows: add_action, define_flow / export_flow, activation, and
-- the validation of everything saved.

-- add_action builds the tree in order
INSERT INTO flowcontrol.flow (name) VALUES ('built by hand') RETURNING id AS f \gset
SELECT flowcontrol.add_action(:f, 'SetStateAction', '{"state": {"i": 0}}') AS a1 \gset
SELECT flowcontrol.add_action(:f, 'WhileLoopAction', '{"condition": "i < 3"}', description => 'loop') AS a2 \gset
SELECT flowcontrol.add_action(:f, 'UpdateStateAction', '{"state": {"i": "i|add:1"}, "evaluate": true}', :a2) AS a3 \gset
SELECT flowcontrol.add_action(:f, 'BreakAction', '{"condition": "i == 2"}', :a2) AS a4 \gset
SELECT flowcontrol.add_action(:f, 'AbortAction') AS a5 \gset
SELECT action, parent_id = :a2 AS in_loop, position, description, config
FROM flowcontrol.flow_action WHERE flow_id = :f ORDER BY parent_id NULLS FIRST, position;

-- export shows the tree; define_flow of the export gives the same export
SELECT jsonb_pretty(flowcontrol.export_flow(:f));
SELECT flowcontrol.define_flow(flowcontrol.export_flow(:f)) AS f2 \gset
SELECT flowcontrol.export_flow(:f2) = flowcontrol.export_flow(:f) AS round_trip;

-- a whole document with limits, a condition and triggers
SELECT flowcontrol.register_trigger('def_started');
SELECT flowcontrol.register_trigger('def_woken');
SELECT flowcontrol.define_flow('{
  "name": "document",
  "description": "all keys",
  "active": true,
  "max_concurrent": 5,
  "max_per_object": 2,
  "max_concurrent_per_object": 0,
  "object_table": "reg_orders",
  "condition": "object.id > 0",
  "actions": [
    {"action": "IfAction", "config": {"condition": "object.id == 1"}, "description": "first",
     "children": [{"action": "SendAlertAction", "config": {"subject": "one", "body": "id {{ object.id }}", "templated": true}}]},
    {"action": "DelayAction", "config": {"seconds": 60, "weekday": 0, "time": "08:30", "timezone": "Europe/Berlin", "action_if_past": "suspend"}},
    {"action": "ForLoopAction", "config": {"var_name": "n", "start": 1, "end": 4, "step": 2},
     "children": [{"action": "LeaveAction", "config": {"condition": "n > 2"}}]}
  ],
  "triggers": [
    {"trigger_name": "def_started", "condition": "object.id != 7"},
    {"trigger_name": "def_woken", "create_flow": false, "active": false}
  ]
}') AS f3 \gset
SELECT name, description, active_at IS NOT NULL AS active, max_concurrent, max_per_object,
	   max_concurrent_per_object, object_table, condition, owner = current_user::regrole AS mine
FROM flowcontrol.flow WHERE id = :f3;
SELECT trigger_name, create_flow, condition, active_at IS NOT NULL AS active
FROM flowcontrol.trigger WHERE flow_id = :f3 ORDER BY trigger_name;
SELECT flowcontrol.define_flow(flowcontrol.export_flow(:f3)) AS f4 \gset
SELECT flowcontrol.export_flow(:f4) = flowcontrol.export_flow(:f3) AS round_trip;

-- activation
SELECT flowcontrol.deactivate_flow(:f3);
SELECT active_at IS NULL AS inactive FROM flowcontrol.flow WHERE id = :f3;
SELECT flowcontrol.activate_flow(:f3, '2000-01-01');
SELECT active_at FROM flowcontrol.flow WHERE id = :f3;
BEGIN;
SELECT flowcontrol.activate_flow(:f3);
SELECT active_at = now() AS active_now, updated_at = now() AS updated FROM flowcontrol.flow WHERE id = :f3;
COMMIT;

-- invalid: the tree
-- seed: test_actions.py::test_add_child_to_action, test_add_child_wrong_flow
SELECT try(format($$SELECT flowcontrol.add_action(%s, 'SetStateAction', '{}', %s)$$, :f, :a1));
SELECT try(format($$SELECT flowcontrol.add_action(%s, 'SetStateAction', '{}', %s)$$, :f2, :a2));
SELECT try(format($$SELECT flowcontrol.add_action(%s, 'NoSuchAction')$$, :f));
SELECT try($$SELECT flowcontrol.add_action(999999, 'AbortAction')$$);
SELECT try(format($$SELECT flowcontrol.add_action(%s, 'AbortAction', '{}', 999999)$$, :f));
SELECT try(format($$UPDATE flowcontrol.flow_action SET parent_id = %s WHERE id = %s$$, :a3, :a2));

-- invalid: configs name the key
-- seed: test_actions.py::test_condition_config_bad_template
SELECT try(format($$SELECT flowcontrol.add_action(%s, 'IfAction', %L)$$, :f, c))
FROM (VALUES
	('{"condition": "x ==", "extra": 1}'),
	('{"conditon": "x"}'),
	('{"condition": 5}'),
	('{"condition": "i !bad= 5"}'),
	('[1, 2]'),
	('"text"')
) AS t(c);
SELECT try(format($$SELECT flowcontrol.add_action(%s, %L, %L)$$, :f, a, c))
FROM (VALUES
	('ForLoopAction', '{"end": "3"}'),
	('ForLoopAction', '{"end": 2.5}'),
	('ForLoopAction', '{"step": 0}'),
	('ForLoopAction', '{"var_name": 1}'),
	('AbortAction', '{"why": "no"}'),
	('SetStateAction', '{"state": [1]}'),
	('SetStateAction', '{"state": {"a": "x |"}, "evaluate": true}'),
	('UpdateStateAction', '{"evaluate": "yes"}'),
	('StartFlowAction', '{}'),
	('StartFlowAction', '{"start_flow": "one"}'),
	('StartFlowAction', '{"start_flow": 1, "immediate": 1}'),
	('DelayAction', '{"action_if_past": "later"}'),
	('DelayAction', '{"time": "25:00"}'),
	('DelayAction', '{"time": "8 am"}'),
	('DelayAction', '{"timezone": "Mars/Olympus"}'),
	('DelayAction', '{"weekday": 7}'),
	('DelayAction', '{"months": 1.5}'),
	('DelayAction', '{"seconds": "60"}'),
	('DelayAction', '{"base_date_template": "(now"}'),
	('WaitForTriggerAction', '{}'),
	('WaitForTriggerAction', '{"trigger": 1, "require_object": "no"}'),
	('SendAlertAction', '{"body": "{{ x", "templated": true}'),
	('SendAlertAction', '{"channel": ""}'),
	('SendAlertAction', '{"recipient": ["a"]}')
) AS t(a, c);

-- invalid: flows and triggers saved directly
SELECT try($$INSERT INTO flowcontrol.flow (name, condition) VALUES ('bad', 'a and or b')$$);
SELECT try($$INSERT INTO flowcontrol.flow (name, max_concurrent) VALUES ('bad', -1)$$);
SELECT try($$INSERT INTO flowcontrol.trigger (trigger_name, create_flow) VALUES ('def_woken', true)$$);
SELECT try($$INSERT INTO flowcontrol.trigger (trigger_name, create_flow) VALUES ('no_such_trigger', false)$$);
SELECT try(format($$INSERT INTO flowcontrol.trigger (trigger_name, flow_id, condition) VALUES ('def_woken', %s, 'x ==')$$, :f));
SELECT try(format($$INSERT INTO flowcontrol.trigger (trigger_name, flow_id) VALUES ('def_started', %s)$$, :f3));
SELECT flowcontrol.register_trigger('def_other');
SELECT try(format($$INSERT INTO flowcontrol.trigger (trigger_name, flow_id, reset_to_action_id) VALUES ('def_other', %s, %s)$$, :f3, :a1));

-- invalid: definition documents; none leaves anything behind
SELECT count(*) AS flows_before FROM flowcontrol.flow \gset
SELECT try(format($$SELECT flowcontrol.define_flow(%L)$$, d))
FROM (VALUES
	('[]'),
	('{}'),
	('{"name": 1}'),
	('{"name": "x", "colour": "red"}'),
	('{"name": "x", "max_concurrent": -1}'),
	('{"name": "x", "max_per_object": "2"}'),
	('{"name": "x", "active": "yes"}'),
	('{"name": "x", "object_table": "no_such_table"}'),
	('{"name": "x", "condition": "1 +"}'),
	('{"name": "x", "actions": {}}'),
	('{"name": "x", "actions": [{"config": {}}]}'),
	('{"name": "x", "actions": [{"action": "AbortAction", "children": []}, {"action": "IfAction", "colour": 1}]}'),
	('{"name": "x", "actions": [{"action": "AbortAction", "children": [{"action": "AbortAction"}]}]}'),
	('{"name": "x", "actions": [{"action": "IfAction", "children": [{"action": "Nope"}]}]}'),
	('{"name": "x", "triggers": [{"condition": "x"}]}'),
	('{"name": "x", "triggers": [{"trigger_name": "not_registered"}]}'),
	('{"name": "x", "triggers": [{"trigger_name": "def_started", "when": 1}]}')
) AS t(d);
SELECT count(*) = :flows_before AS nothing_left FROM flowcontrol.flow;
SELECT try($$SELECT flowcontrol.export_flow(999999)$$);
SELECT try($$SELECT flowcontrol.activate_flow(999999)$$);
SELECT try($$SELECT flowcontrol.deactivate_flow(999999)$$);
