-- Bad input of every kind gets an error with a SQLSTATE and a message that
-- names the culprit, and changes nothing.
CREATE TEMP TABLE counts AS
SELECT (SELECT count(*) FROM flowcontrol.flow) AS flows,
	   (SELECT count(*) FROM flowcontrol.flow_action) AS actions,
	   (SELECT count(*) FROM flowcontrol.trigger) AS triggers,
	   (SELECT count(*) FROM flowcontrol.flow_run) AS runs,
	   (SELECT count(*) FROM flowcontrol.action_type) AS action_types,
	   (SELECT count(*) FROM flowcontrol.trigger_type) AS trigger_types;
SELECT flowcontrol.define_flow('{"name": "target", "active": true}') AS f \gset

SELECT statement, try(statement) FROM (VALUES
	-- malformed JSON and definitions
	($$SELECT flowcontrol.define_flow('{"name": "x"')$$),
	($$SELECT flowcontrol.define_flow('"just a string"')$$),
	($$SELECT flowcontrol.define_flow('{"name": "x", "actions": [{"action": "IfAction", "config": {"condition": "a ="}}]}')$$),
	($$SELECT flowcontrol.define_flow('{"name": "x", "actions": [{"action": "ForLoopAction", "config": {"end": "ten"}}]}')$$),
	-- unknown names
	($$SELECT flowcontrol.define_flow('{"name": "x", "actions": [{"action": "NoSuchAction"}]}')$$),
	($$SELECT flowcontrol.define_flow('{"name": "x", "triggers": [{"trigger_name": "no_such_trigger"}]}')$$),
	($$SELECT flowcontrol.trigger_flows('no_such_trigger')$$),
	($$SELECT flowcontrol.start_flowrun(999999)$$),
	($$SELECT flowcontrol.execute_flowrun(999999)$$),
	($$SELECT flowcontrol.unregister_action('NoSuchAction')$$),
	($$SELECT flowcontrol.evaluate('x|no_such_filter')$$),
	($$SELECT flowcontrol.validate_expression('x|no_such_filter')$$),
	-- negative limits
	($$SELECT flowcontrol.define_flow('{"name": "x", "max_concurrent_per_object": -1}')$$),
	($$INSERT INTO flowcontrol.flow (name, max_per_object) VALUES ('x', -1)$$),
	-- oversized names and expressions
	($$SELECT flowcontrol.register_action(repeat('a', 101), 'pg_catalog.now()')$$),
	($$SELECT flowcontrol.register_trigger(repeat('t', 101))$$),
	($$SELECT flowcontrol.register_filter(repeat('f', 101), 'pg_catalog.jsonb_concat(jsonb,jsonb)')$$),
	($$SELECT flowcontrol.evaluate(repeat('a or ', 20000) || 'a')$$),
	($$SELECT flowcontrol.evaluate(repeat('(', 300) || '1' || repeat(')', 300))$$),
	($$SELECT flowcontrol.evaluate(repeat('not ', 100000) || 'x')$$),
	($$INSERT INTO flowcontrol.flow (name, condition) VALUES ('x', repeat('(', 50000))$$),
	-- functions with the wrong signature
	($$SELECT flowcontrol.register_action('Now', 'pg_catalog.now()')$$),
	($$SELECT flowcontrol.register_filter('concat', 'pg_catalog.textcat(text,text)')$$),
	-- wrong values
	($$SELECT flowcontrol.evaluate('1', '[]')$$),
	($$SELECT flowcontrol.create_flowrun(NULL)$$),
	($$SELECT flowcontrol.trigger_flows('x', state => '1')$$),
	($$SELECT flowcontrol.attach_trigger(NULL, 'x')$$)
) AS t(statement);

SELECT regexp_replace(try(format($$SELECT flowcontrol.add_action(%s, 'DelayAction', '{"weekday": "Monday"}')$$, :f)), 'at action \d+ of flow \d+', 'at action N of flow N') AS try;
SELECT regexp_replace(try(format($$SELECT flowcontrol.add_action(%s, 'StartFlowAction', '{"immediate": true}')$$, :f)), 'at action \d+ of flow \d+', 'at action N of flow N') AS try;
SELECT regexp_replace(try(format($$SELECT flowcontrol.add_action(%s, 'SendAlertAction', '{"channel": 5}')$$, :f)), 'at action \d+ of flow \d+', 'at action N of flow N') AS try;
SELECT try(format($$SELECT flowcontrol.execute_flowrun(%s, -5)$$, :f));
DELETE FROM flowcontrol.flow WHERE id = :f;

-- nothing changed
SELECT (SELECT count(*) FROM flowcontrol.flow) = flows AS flows,
	   (SELECT count(*) FROM flowcontrol.flow_action) = actions AS actions,
	   (SELECT count(*) FROM flowcontrol.trigger) = triggers AS triggers,
	   (SELECT count(*) FROM flowcontrol.flow_run) = runs AS runs,
	   (SELECT count(*) FROM flowcontrol.action_type) = action_types AS action_types,
	   (SELECT count(*) FROM flowcontrol.trigger_type) = trigger_types AS trigger_types
FROM counts;
