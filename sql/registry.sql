-- Registries: actions, trigger names, filters.
CREATE EXTENSION IF NOT EXISTS flowcontrol;

-- user actions in both signatures
CREATE FUNCTION plain_action(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'continue'::flowcontrol.directive $$;
CREATE FUNCTION inout_action(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb,
							 OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$ BEGIN directive := 'continue'; END $$;

SELECT flowcontrol.register_action('Plain', 'plain_action(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('InOut', 'inout_action(flowcontrol.flow_run,jsonb,jsonb)', has_children => true,
								   return_function => 'plain_action(flowcontrol.flow_run,jsonb,jsonb)',
								   label => 'In and out', description => 'an INOUT action',
								   action_group => 'Tests');
SELECT name, run_function, return_function, has_children, label, description, action_group, builtin
FROM flowcontrol.action_type WHERE NOT builtin ORDER BY name;

-- trigger names
SELECT flowcontrol.register_trigger('order_paid');
CREATE TABLE reg_orders (id int PRIMARY KEY);
SELECT flowcontrol.register_trigger('order_saved', 'reg_orders', 'Order saved', 'an order row was written');
SELECT name, object_table, label, description FROM flowcontrol.trigger_type ORDER BY name;

-- filters
CREATE FUNCTION twice(value jsonb, arg jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT to_jsonb((value #>> '{}')::numeric * 2) $$;
SELECT flowcontrol.register_filter('twice', 'twice(jsonb,jsonb)');
SELECT name, function FROM flowcontrol.filter ORDER BY name;

-- unregistering an unused action
SELECT flowcontrol.unregister_action('Plain');
SELECT count(*) FROM flowcontrol.action_type WHERE name = 'Plain';

-- invalid: the seed's messages, word for word
SELECT try($$SELECT flowcontrol.register_action('', 'plain_action(flowcontrol.flow_run,jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_action(NULL, 'plain_action(flowcontrol.flow_run,jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_action(repeat('x', 101), 'plain_action(flowcontrol.flow_run,jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_action(repeat('x', 100), 'plain_action(flowcontrol.flow_run,jsonb,jsonb)')$$) AS hundred_chars;
SELECT try($$SELECT flowcontrol.register_action('InOut', 'plain_action(flowcontrol.flow_run,jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_action('IfAction', 'plain_action(flowcontrol.flow_run,jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_trigger('')$$);
SELECT try($$SELECT flowcontrol.register_trigger(repeat('t', 101))$$);
SELECT try($$SELECT flowcontrol.register_trigger('order_paid')$$);

-- invalid: functions that do not fit
CREATE FUNCTION wrong_args(run flowcontrol.flow_run, obj jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'continue'::flowcontrol.directive $$;
CREATE FUNCTION wrong_result(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS text LANGUAGE sql AS $$ SELECT 'continue' $$;
CREATE FUNCTION wrong_out(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb, OUT d text)
LANGUAGE sql AS $$ SELECT run, 'x' $$;
SELECT try($$SELECT flowcontrol.register_action('A1', 'wrong_args(flowcontrol.flow_run,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_action('A2', 'wrong_result(flowcontrol.flow_run,jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_action('A3', 'wrong_out(flowcontrol.flow_run,jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_action('A4', 'plain_action(flowcontrol.flow_run,jsonb,jsonb)', return_function => 'wrong_result(flowcontrol.flow_run,jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_action('A5', NULL)$$);
SELECT try($$SELECT flowcontrol.register_action('A6', 'no_such_function(flowcontrol.flow_run,jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_filter('twice', 'twice(jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_filter('length', 'twice(jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_filter('bad name', 'twice(jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_filter('', 'twice(jsonb,jsonb)')$$);
SELECT try($$SELECT flowcontrol.register_filter('f2', 'plain_action(flowcontrol.flow_run,jsonb,jsonb)')$$);

-- unregistering: unknown, built in, in use
SELECT try($$SELECT flowcontrol.unregister_action('Nope')$$);
SELECT try($$SELECT flowcontrol.unregister_action('IfAction')$$);
SELECT flowcontrol.define_flow('{"name": "uses InOut", "actions": [{"action": "InOut"}]}') AS flow_id \gset
SELECT try($$SELECT flowcontrol.unregister_action('InOut')$$);
DELETE FROM flowcontrol.flow WHERE id = :flow_id;
SELECT try($$SELECT flowcontrol.unregister_action('InOut')$$);

-- the registries are not changed by a failed call
SELECT left(name, 10), length(name) FROM flowcontrol.action_type WHERE NOT builtin ORDER BY name;
