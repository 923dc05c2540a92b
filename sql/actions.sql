-- Built-in actions in detail, and user actions: both signatures, return
-- hooks, errors and what they roll back.
SET timezone = 'UTC';

-- DelayAction's calendar: months clamp to the month's end, weekday moves
-- forward (the same day counts), time sets the clock in the time zone.
CREATE FUNCTION delay_until(config jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	f bigint;
	r flowcontrol.flow_run;
BEGIN
	f := flowcontrol.define_flow(jsonb_build_object('name', 'delay', 'active', true,
		'actions', jsonb_build_array(jsonb_build_object('action', 'DelayAction', 'config', config))));
	r := flowcontrol.start_flowrun(f);
	RETURN r.status || ' ' || coalesce(to_char(r.continue_after AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '-');
END
$$;
SELECT delay_until('{"base_date_template": "\"2098-01-29T00:00:00Z\"", "months": 1, "timezone": "UTC"}');
SELECT delay_until('{"base_date_template": "\"2098-01-29T00:00:00Z\"", "weekday": 0, "timezone": "UTC"}');
SELECT delay_until('{"base_date_template": "\"2098-01-29T00:00:00Z\"", "months": 2, "seconds": 604800, "weekday": 0, "time": "05:29", "timezone": "UTC"}');
SELECT delay_until('{"base_date_template": "\"2098-02-02T10:00:00Z\"", "weekday": 0, "time": "08:00", "timezone": "UTC"}');
SELECT delay_until('{"base_date_template": "\"2098-01-31T12:00:00Z\"", "months": 13, "timezone": "UTC"}');
SELECT delay_until('{"base_date_template": "\"2098-03-31T12:00:00Z\"", "months": -1, "timezone": "UTC"}');
-- calendar steps happen in the flow's time zone: 23:30 UTC is already the next day in Berlin
SELECT delay_until('{"base_date_template": "\"2098-06-30T23:30:00Z\"", "time": "09:00", "timezone": "Europe/Berlin"}');
-- a day of seconds across the daylight saving change keeps the wall clock
SELECT delay_until('{"base_date_template": "\"2098-03-29T07:00:00+01\"", "seconds": 86400, "timezone": "Europe/Berlin"}');
-- a base without a UTC offset is read in the flow's time zone
SELECT delay_until('{"base_date_template": "\"2098-01-01 10:00\"", "seconds": 60, "timezone": "Europe/Berlin"}');
-- a named day is that day in the flow's time zone, not the session's
SELECT delay_until('{"base_date_template": "\"tomorrow 10:00\"", "timezone": "Pacific/Kiritimati"}')
	= 'waiting ' || to_char(((date_trunc('day', now() AT TIME ZONE 'Pacific/Kiritimati') + interval '1 day 10 hours')
		AT TIME ZONE 'Pacific/Kiritimati') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS tomorrow_in_flow_zone;
-- the session's time zone is left alone, also when the Delay fails
SELECT delay_until('{"base_date_template": "\"2098-01-01 10:00 nowhere\"", "timezone": "Asia/Tokyo"}');
SELECT '2098-01-01 10:00'::timestamptz AS session_zone_after_error;
-- the base may come from the state or the object
SELECT status, to_char(continue_after AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM flowcontrol.start_flowrun(
	flowcontrol.define_flow('{"name": "from state", "active": true, "actions": [
		{"action": "DelayAction", "config": {"base_date_template": "due", "seconds": 60}}]}'),
	state => '{"due": "2099-12-31 23:00:00+00"}');
-- already past: action_if_past decides
-- seed: test_actions.py::test_delay_is_in_past (and seed_actions.sql)
SELECT delay_until('{"base_date_template": "\"2000-01-01T00:00:00Z\""}');
SELECT delay_until('{"base_date_template": "\"2000-01-01T00:00:00Z\"", "action_if_past": "abort"}');
SELECT delay_until('{"seconds": -1, "action_if_past": "suspend"}') ~ '^waiting ' AS suspended_now;
SELECT delay_until('{"seconds": -1, "action_if_past": "enter"}') ~ '^done \d' AS enter_continues;
-- as in the seed, continue_after keeps the computed time even when it is
-- past: a suspended run is due at once
SELECT delay_until('{"base_date_template": "\"2000-01-01T00:00:00Z\"", "action_if_past": "suspend"}');
-- bad bases
-- seed: test_actions.py::test_delay_bad_base_template
SELECT delay_until('{"base_date_template": "\"next tuesday-ish\""}');
SELECT delay_until('{"base_date_template": "42"}');
SELECT untimed(log) AS log FROM flowcontrol.flow_run WHERE outcome = 'errored' ORDER BY id DESC LIMIT 1;

-- StartFlowAction: a child run, executed at once, without the parent's state
SELECT flowcontrol.define_flow('{"name": "child", "active": true, "max_concurrent": 1, "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1", "obj": "object.name"}, "evaluate": true}}]}') AS child \gset
CREATE TABLE pet (name text PRIMARY KEY);
INSERT INTO pet VALUES ('Rex');
SELECT flowcontrol.define_flow(format('{"name": "parent", "active": true, "actions": [
	{"action": "SetStateAction", "config": {"state": {"i": 1}}},
	{"action": "StartFlowAction", "config": {"start_flow": %s, "immediate": true}}]}', :child)::jsonb) AS parent \gset
SELECT id AS parent_run, state FROM flowcontrol.start_flowrun(:parent, 'pet', 'Rex') \gset
SELECT flow_id = :child AS is_child, parent_run_id = :parent_run AS linked, status, outcome, state, object_id
FROM flowcontrol.flow_run WHERE parent_run_id = :parent_run;
-- passing state, not the object, not immediate; and the limit of the child flow
-- seed: test_actions.py::test_start_flow_action, test_flow.py::test_start_flow_action_limit
UPDATE flowcontrol.flow SET max_concurrent = 0 WHERE id = :child;
SELECT flowcontrol.define_flow(format('{"name": "parent 2", "active": true, "actions": [
	{"action": "SetStateAction", "config": {"state": {"i": 1}}},
	{"action": "StartFlowAction", "config": {"start_flow": %s, "pass_state": true, "pass_object": false}}]}', :child)::jsonb) AS parent2 \gset
SELECT id AS parent_run2 FROM flowcontrol.start_flowrun(:parent2, 'pet', 'Rex') \gset
SELECT status, state, object_id FROM flowcontrol.flow_run WHERE parent_run_id = :parent_run2;
SELECT flowcontrol.continue_flowruns();
SELECT status, state FROM flowcontrol.flow_run WHERE parent_run_id = :parent_run2;
UPDATE flowcontrol.flow SET max_concurrent = 1 WHERE id = :child;
SELECT count(*) FROM (SELECT flowcontrol.create_flowrun(:child)) c;
SELECT status, outcome FROM flowcontrol.start_flowrun(:parent2);
SELECT count(*) AS children FROM flowcontrol.flow_run WHERE parent_run_id IS NOT NULL;

-- SetStateAction keeps keys starting with "_"; UpdateStateAction merges
SELECT state FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "set", "active": true, "actions": [
	{"action": "SetStateAction", "config": {"state": {"b": [1, 2], "c": {"d": null}}}}]}'),
	state => '{"_keep": 1, "a": 2}');
SELECT state FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "update", "active": true, "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"a": "a|add:1", "s": "\"text\"", "n": 5, "l": ["x"]}, "evaluate": true}}]}'),
	state => '{"_keep": 1, "a": 2}');

-- ForLoopAction without var_name keeps its counter in _for_loop_ID
SELECT state FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "for", "active": true, "actions": [
	{"action": "ForLoopAction", "config": {"start": 2, "end": 8, "step": 3}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"seen": "seen|default:\"\"|add:\"x\""}, "evaluate": true}}]}]}'));
-- the loop counter removed by an action is an error
-- seed: test_actions.py::test_forloop_missing_var
SELECT outcome, untimed(log) ~ 'loop variable "k" is missing from the state' AS logged
FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "for", "active": true, "actions": [
	{"action": "ForLoopAction", "config": {"var_name": "k", "end": 3}, "children": [
		{"action": "SetStateAction", "config": {"state": {}}}]}]}'));

-- user actions: the plain form, the INOUT form, return hooks, NULL = continue
-- seed: test_flow.py::test_action_return_none
CREATE TABLE action_log (run_id bigint, what text, who text);
CREATE FUNCTION note(run flowcontrol.flow_run, obj jsonb, config jsonb) RETURNS flowcontrol.directive
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO action_log VALUES (run.id, config->>'what', current_user);
	RETURN (config->>'directive')::flowcontrol.directive;
END
$$;
CREATE FUNCTION counter(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb, OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$
BEGIN
	run.state := jsonb_set(run.state, '{count}', to_jsonb(coalesce((run.state->>'count')::int, 0) + 1));
	run.log := run.log || 'counted' || E'\n';
	directive := CASE WHEN (run.state->>'count')::int < 3 THEN 'enter' ELSE NULL END;
END
$$;
SELECT flowcontrol.register_action('Note', 'note(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('Counter', 'counter(flowcontrol.flow_run,jsonb,jsonb)',
								   return_function => 'counter(flowcontrol.flow_run,jsonb,jsonb)', has_children => true);
SELECT id AS ur FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "user", "active": true, "actions": [
	{"action": "Counter", "children": [{"action": "Note", "config": {"what": "inside"}}]},
	{"action": "Note", "config": {"what": "after"}}]}')) \gset
SELECT status, outcome, state, untimed(log) AS log FROM flowcontrol.flow_run WHERE id = :ur;
SELECT what, who = current_user AS as_owner, count(*) FROM action_log WHERE run_id = :ur GROUP BY 1, 2 ORDER BY 1;

-- a STRICT action is not called without an object (NULL = continue)
CREATE FUNCTION strict_note(run flowcontrol.flow_run, obj jsonb, config jsonb) RETURNS flowcontrol.directive
LANGUAGE plpgsql STRICT AS $$
BEGIN
	INSERT INTO action_log VALUES (run.id, 'strict ' || (obj->>'name'), current_user);
	RETURN 'abort';
END
$$;
SELECT flowcontrol.register_action('StrictNote', 'strict_note(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.define_flow('{"name": "strict", "active": true, "actions": [
	{"action": "StrictNote"}, {"action": "Note", "config": {"what": "after strict"}}]}') AS strict_flow \gset
CREATE TABLE strict_obj (name text PRIMARY KEY);
INSERT INTO strict_obj VALUES ('Tom');
SELECT id AS sr1, status, outcome FROM flowcontrol.start_flowrun(:strict_flow) \gset
SELECT id AS sr2, status, outcome FROM flowcontrol.start_flowrun(:strict_flow, 'strict_obj', 'Tom') \gset
SELECT id = :sr1 AS without_object, status, outcome FROM flowcontrol.flow_run WHERE id IN (:sr1, :sr2) ORDER BY id;
SELECT run_id = :sr1 AS without_object, what FROM action_log WHERE run_id IN (:sr1, :sr2) ORDER BY 1 DESC, 2;

-- a failing action: its own effects roll back, earlier state stays, the log says why
-- seed: test_flow.py::test_action_exception
CREATE FUNCTION fails(run flowcontrol.flow_run, obj jsonb, config jsonb) RETURNS flowcontrol.directive
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO action_log VALUES (run.id, 'rolled back', current_user);
	RETURN (1 / 0)::text::flowcontrol.directive;
END
$$;
SELECT flowcontrol.register_action('Fails', 'fails(flowcontrol.flow_run,jsonb,jsonb)');
SELECT id AS fr FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "failing", "active": true, "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"before": true}}},
	{"action": "Note", "config": {"what": "kept"}},
	{"action": "Fails"},
	{"action": "UpdateStateAction", "config": {"state": {"after": true}}}]}')) \gset
SELECT status, outcome, state, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log FROM flowcontrol.flow_run WHERE id = :fr;
SELECT what FROM action_log WHERE run_id = :fr ORDER BY what;

-- an expression error at run time errors the run: here the function of a
-- filter was dropped after the flow was saved (an unknown filter is refused
-- when a flow is saved: see definition_errors.sql)
CREATE FUNCTION fleeting(value jsonb, arg jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT value';
SELECT flowcontrol.register_filter('fleeting', 'fleeting(jsonb,jsonb)');
SELECT flowcontrol.define_flow('{"name": "bad filter", "active": true, "actions": [
	{"action": "IfAction", "config": {"condition": "x|fleeting"}}]}') AS fleeting_flow \gset
DROP FUNCTION fleeting(jsonb, jsonb);
SELECT outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log FROM flowcontrol.start_flowrun(:fleeting_flow);

-- an INOUT action may not change other columns of the run
CREATE FUNCTION meddles(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb, OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$ BEGIN run.status := 'done'; END $$;
SELECT flowcontrol.register_action('Meddles', 'meddles(flowcontrol.flow_run,jsonb,jsonb)');
SELECT outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "meddling", "active": true, "actions": [{"action": "Meddles"}]}'));

-- a dropped function
CREATE FUNCTION gone(run flowcontrol.flow_run, obj jsonb, config jsonb) RETURNS flowcontrol.directive
LANGUAGE sql AS $$ SELECT 'continue'::flowcontrol.directive $$;
SELECT flowcontrol.register_action('Gone', 'gone(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.define_flow('{"name": "missing", "active": true, "actions": [{"action": "Gone"}]}') AS missing \gset
DROP FUNCTION gone;
SELECT outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log FROM flowcontrol.start_flowrun(:missing);

-- an action may act on its own run: the log line and the outcome take effect
CREATE FUNCTION self_service(run flowcontrol.flow_run, obj jsonb, config jsonb) RETURNS flowcontrol.directive
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM flowcontrol.append_log(run.id, 'note to self');
	IF config->>'then' = 'cancel' THEN
		PERFORM flowcontrol.cancel_flowrun(run.id);
	END IF;
	RETURN 'continue';
END
$$;
SELECT flowcontrol.register_action('SelfService', 'self_service(flowcontrol.flow_run,jsonb,jsonb)');
CREATE FUNCTION self_log_inout(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb, OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM flowcontrol.append_log(run.id, 'appended during the call');
	run.log := run.log || 'returned by the action';
END
$$;
SELECT flowcontrol.register_action('SelfLogInout', 'self_log_inout(flowcontrol.flow_run,jsonb,jsonb)');
SELECT untimed(log) AS log FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "self inout", "active": true, "actions": [{"action": "SelfLogInout"}]}'), state => '{}');
SELECT status, outcome, untimed(log) AS log, state FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "self", "active": true, "actions": [
	{"action": "SelfService"}, {"action": "SelfService", "config": {"then": "cancel"}},
	{"action": "UpdateStateAction", "config": {"state": {"not": "reached"}}}]}'));
CREATE FUNCTION reenter(run flowcontrol.flow_run, obj jsonb, config jsonb) RETURNS flowcontrol.directive
LANGUAGE plpgsql AS $$ BEGIN PERFORM flowcontrol.execute_flowrun(run.id); RETURN 'continue'; END $$;
SELECT flowcontrol.register_action('Reenter', 'reenter(flowcontrol.flow_run,jsonb,jsonb)');
SELECT outcome, regexp_replace(untimed(log), '(run |\()\d+', '\1N', 'g') AS log FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "reenter", "active": true, "actions": [{"action": "Reenter"}]}'));
