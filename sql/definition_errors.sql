-- Saving a flow that cannot run is refused, and every definition error says
-- where it is: the config key and the action's path in a define_flow()
-- document, or the action's id for add_action() and direct INSERTs.
-- Errors of define_flow() and add_action() come without the CONTEXT lines
-- of the install script's internals.  Ids are hidden with hide().
CREATE FUNCTION hide(msg text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(msg, '(action|flow|trigger) \d+', '\1 N', 'g')
$$;

-- valid: a flow whose every expression checks out
SELECT flowcontrol.define_flow('{"name": "de ok", "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"n": "n|default:0|add:1"}, "evaluate": true}},
	{"action": "IfAction", "config": {"condition": "n|length > 1"}, "children": [
		{"action": "SendAlertAction", "config": {"body": "{{ n|upper }}", "templated": true}}]}]}') > 0 AS saved;

-- invalid: a bad condition names the key, the action and its path
SELECT flowcontrol.define_flow('{"name": "de bad", "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"a": 1}}},
	{"action": "IfAction", "config": {"condition": "foo !bad= 1"}}]}');
SELECT flowcontrol.define_flow('{"name": "de nested", "actions": [
	{"action": "AbortAction"},
	{"action": "WhileLoopAction", "config": {"condition": "True"}, "children": [
		{"action": "BreakAction", "config": {"condition": "i >"}}]}]}');
SELECT flowcontrol.define_flow('{"name": "de key", "actions": [
	{"action": "IfAction", "children": [{"action": "DelayAction", "config": {"seconds": "soon"}}]}]}');

-- unknown filter names are refused when saved, as validate_expression() does
SELECT try($$SELECT flowcontrol.validate_expression('x|lenght > 1')$$);
SELECT try($$SELECT flowcontrol.define_flow('{"name": "de filter", "actions": [
	{"action": "IfAction", "config": {"condition": "x|lenght > 1"}}]}')$$);
SELECT try($$SELECT flowcontrol.define_flow('{"name": "de state", "actions": [
	{"action": "SetStateAction", "config": {"state": {"s": "x|shoutout"}, "evaluate": true}}]}')$$);
SELECT try($$SELECT flowcontrol.define_flow('{"name": "de template", "actions": [
	{"action": "SendAlertAction", "config": {"body": "Hi {{ name|shoutout }}", "templated": true}}]}')$$);
SELECT try($$SELECT flowcontrol.define_flow('{"name": "de base", "actions": [
	{"action": "DelayAction", "config": {"base_date_template": "due|shoutout"}}]}')$$);
-- ... the flow's own condition and its triggers' conditions too
SELECT flowcontrol.register_trigger('de_event');
SELECT try($$SELECT flowcontrol.define_flow('{"name": "de flow cond", "condition": "x|shoutout"}')$$);
SELECT try($$SELECT flowcontrol.define_flow('{"name": "de trigger cond",
	"triggers": [{"trigger_name": "de_event"}, {"trigger_name": "de_event", "condition": "x|shoutout"}]}')$$);
-- ... and through add_action() and the tables, naming the action's id
SELECT flowcontrol.define_flow('{"name": "de direct"}') AS direct \gset
SELECT hide(try(format($$SELECT flowcontrol.add_action(%s, 'IfAction', '{"condition": "x|shoutout"}')$$, :direct)));
SELECT hide(try(format($$INSERT INTO flowcontrol.flow_action (flow_id, position, action, config)
	VALUES (%s, 0, 'IfAction', '{"condition": "x|shoutout"}')$$, :direct)));
SELECT flowcontrol.add_action(:direct, 'IfAction', '{"condition": "True"}') AS if_action \gset
SELECT hide(try(format($$UPDATE flowcontrol.flow_action SET config = '{"condition": "x|shoutout"}' WHERE id = %s$$, :if_action)));
SELECT try(format($$UPDATE flowcontrol.flow SET condition = 'x|shoutout' WHERE id = %s$$, :direct));
SELECT hide(try(format($$INSERT INTO flowcontrol.trigger (trigger_name, flow_id, condition)
	VALUES ('de_event', %s, 'x|shoutout')$$, :direct)));
-- a filter registered later: the flow is accepted from then on
CREATE FUNCTION shoutout(value jsonb, arg jsonb) RETURNS jsonb LANGUAGE sql
AS $$ SELECT to_jsonb(upper(value #>> '{}') || '!') $$;
SELECT flowcontrol.register_filter('shoutout', 'shoutout(jsonb,jsonb)');
SELECT flowcontrol.define_flow('{"name": "de filter later", "active": true, "condition": "x|shoutout",
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"s": "x|shoutout"}, "evaluate": true}}]}') AS later \gset
SELECT state FROM flowcontrol.start_flowrun(:later, state => '{"x": "hi"}');
-- a later edit of other columns does not check unchanged expressions again
-- (their filter may be gone by then)
UPDATE flowcontrol.filter SET name = 'shoutout_renamed' WHERE name = 'shoutout';
SELECT flowcontrol.deactivate_flow(:later);
UPDATE flowcontrol.flow_action SET description = 'shouts' WHERE flow_id = :later;
SELECT active_at IS NULL AS deactivated FROM flowcontrol.flow WHERE id = :later;
-- ... but a changed one is
SELECT try(format($$UPDATE flowcontrol.flow SET condition = condition || ' and True' WHERE id = %s$$, :later));
UPDATE flowcontrol.filter SET name = 'shoutout' WHERE name = 'shoutout_renamed';
-- a dump restores rows with check_function_bodies off, before the filters
-- and primary keys they need: those checks wait
SET check_function_bodies = off;
INSERT INTO flowcontrol.flow (name, condition) VALUES ('de restored', 'x|restored_later');
SELECT try($$INSERT INTO flowcontrol.flow (name, condition) VALUES ('de restored', 'x|')$$);
RESET check_function_bodies;

-- an unregistered trigger: the seed's message, and where it is
SELECT flowcontrol.define_flow('{"name": "de no trigger", "triggers": [{"trigger_name": "de_event"}, {"trigger_name": "de_no_event"}]}');

-- an unregistered action: the seed's message, where it is, and close names
SELECT flowcontrol.define_flow('{"name": "de typo", "actions": [{"action": "IfActon"}]}');
SELECT flowcontrol.define_flow('{"name": "de short", "actions": [{"action": "IfAction", "children": [{"action": "Delay"}]}]}');
SELECT flowcontrol.define_flow('{"name": "de unknown", "actions": [{"action": "Zzzzzzzzzz"}]}');
SELECT flowcontrol.add_action(:direct, 'setstateaction');

-- object tables: refused when saved, not when a run is created
CREATE TABLE de_no_pk (id int, name text);
CREATE TABLE de_two_col_pk (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE de_pk (id int PRIMARY KEY);
SELECT flowcontrol.define_flow('{"name": "de no pk", "object_table": "de_no_pk"}');
SELECT try($$SELECT flowcontrol.define_flow('{"name": "de two col pk", "object_table": "de_two_col_pk"}')$$);
SELECT try($$SELECT flowcontrol.define_flow('{"name": "de nowhere", "object_table": "de_nowhere"}')$$);
SELECT try(format($$UPDATE flowcontrol.flow SET object_table = 'de_no_pk' WHERE id = %s$$, :direct));
SELECT flowcontrol.define_flow('{"name": "de pk", "object_table": "de_pk"}') > 0 AS pk_saved;
SET check_function_bodies = off;
INSERT INTO flowcontrol.flow (name, object_table) VALUES ('de restored', 'de_no_pk');
RESET check_function_bodies;

-- an inactive flow: the seed's message, with a detail and a hint
SELECT flowcontrol.create_flowrun(:direct);

-- an errored run's log keeps the error's SQLSTATE, message, DETAIL and HINT
CREATE FUNCTION de_declines(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'card declined' USING ERRCODE = 'P0001',
		DETAIL = 'The bank said no.', HINT = 'Try another card.';
END
$$;
SELECT flowcontrol.register_action('DeDeclines', 'de_declines(flowcontrol.flow_run,jsonb,jsonb)');
SELECT outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log
FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "de declines", "active": true,
	"actions": [{"action": "DeDeclines"}]}'));
