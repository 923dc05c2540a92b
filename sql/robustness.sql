-- Robustness: no input crashes the server, a run's memory is bounded by
-- the size of its state and log (not by its number of steps), and objects
-- that disappear under a run (tables, roles) give clear outcomes.
CREATE ROLE regress_robust;
GRANT USAGE ON SCHEMA flowcontrol TO regress_robust;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO regress_robust;
GRANT SELECT, INSERT, UPDATE, DELETE ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger TO regress_robust;
GRANT SELECT, DELETE ON flowcontrol.flow_run TO regress_robust;
GRANT SELECT ON flowcontrol.action_type, flowcontrol.trigger_type TO regress_robust;
SELECT flowcontrol.register_trigger('robust_signal');

-- NULLs in NOT NULL columns reach the BEFORE ROW triggers before the
-- constraint: they are left for the constraint to report, by any role.
SET ROLE regress_robust;
SELECT flowcontrol.define_flow('{"name": "robust nulls", "actions": [{"action": "IfAction"}]}') AS f \gset
SELECT replace(statement, :'f', 'F') AS statement, try(statement) FROM (VALUES
	(format('INSERT INTO flowcontrol.flow_action (flow_id, action) VALUES (%s, NULL)', :f)),
	(format('INSERT INTO flowcontrol.flow_action (flow_id, action, config) VALUES (%s, %L, NULL)', :f, 'IfAction')),
	(format('INSERT INTO flowcontrol.flow_action (flow_id, action, config) VALUES (%s, %L, NULL)', :f, 'ForLoopAction')),
	(format('INSERT INTO flowcontrol.flow_action (flow_id, action, position) VALUES (%s, %L, NULL)', :f, 'AbortAction')),
	(format('UPDATE flowcontrol.flow_action SET action = NULL WHERE flow_id = %s', :f)),
	(format('UPDATE flowcontrol.flow_action SET config = NULL WHERE flow_id = %s', :f)),
	('INSERT INTO flowcontrol.flow (name) VALUES (NULL)'),
	('INSERT INTO flowcontrol.flow (name, condition) VALUES (''x'', NULL)'),
	(format('UPDATE flowcontrol.flow SET condition = NULL WHERE id = %s', :f)),
	(format('UPDATE flowcontrol.flow SET name = NULL WHERE id = %s', :f)),
	('INSERT INTO flowcontrol.trigger (trigger_name, create_flow) VALUES (NULL, false)'),
	('INSERT INTO flowcontrol.trigger (trigger_name, create_flow) VALUES (''robust_signal'', NULL)'),
	('INSERT INTO flowcontrol.trigger (trigger_name, create_flow, condition) VALUES (''robust_signal'', false, NULL)')
) AS t(statement);
RESET ROLE;
-- the registries' functions take NULL arguments too
SELECT statement, try(statement) FROM (VALUES
	('SELECT flowcontrol.register_action(NULL, NULL)'),
	('SELECT flowcontrol.register_action(''RobustNull'', NULL)'),
	('SELECT flowcontrol.register_trigger(NULL)'),
	('SELECT flowcontrol.register_filter(NULL, NULL)'),
	('SELECT flowcontrol.register_filter(''robust_null'', NULL)'),
	('SELECT flowcontrol.get_context(NULL)'),
	('SELECT flowcontrol.get_context(ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::flowcontrol.flow_run)')
) AS t(statement);

-- ForLoopAction: a counter that would pass the largest bigint is past any
-- end, so the loop ends (it used to wrap around and loop again)
SELECT (r).status, (r).outcome, untimed((r).log) AS log, (r).state FROM (SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{
	"name": "robust for overflow", "active": true, "actions": [
	{"action": "ForLoopAction", "config": {"var_name": "i", "start": 9223372036854775800, "end": 9223372036854775807, "step": 5},
	 "children": [{"action": "UpdateStateAction", "config": {"state": {"seen": "i"}, "evaluate": true}}]}]}'))) AS s(r);
SELECT (r).status, (r).outcome, untimed((r).log) AS log, (r).state FROM (SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{
	"name": "robust for largest step", "active": true, "actions": [
	{"action": "ForLoopAction", "config": {"var_name": "i", "start": 1, "end": 9223372036854775807, "step": 9223372036854775807},
	 "children": [{"action": "UpdateStateAction", "config": {"state": {"seen": "i"}, "evaluate": true}}]}]}'))) AS s(r);

-- a state that is no object (only the tables' owner can write one) has no
-- loop variable
CREATE FUNCTION robust_suspend(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'suspend'::flowcontrol.directive $$;
SELECT flowcontrol.register_action('RobustSuspend', 'robust_suspend(flowcontrol.flow_run, jsonb, jsonb)');
SELECT id AS array_run FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{
	"name": "robust array state", "active": true, "actions": [
	{"action": "ForLoopAction", "config": {"var_name": "i", "end": 3}, "children": [{"action": "RobustSuspend"}]}]}')) \gset
UPDATE flowcontrol.flow_run SET state = '["i", 1]' WHERE id = :array_run;
SELECT status, outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log, state
FROM flowcontrol.execute_flowrun(:array_run);

-- An object whose table was dropped no longer exists: the run is obsolete
CREATE TABLE robust_item (id int PRIMARY KEY, note text);
INSERT INTO robust_item VALUES (1, 'one');
SELECT flowcontrol.define_flow('{"name": "robust object", "active": true, "max_concurrent_per_object": 0,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"ran": true}}}]}') AS obj_flow \gset
SELECT id AS dropped_run FROM flowcontrol.create_flowrun(:obj_flow, 'robust_item', '1') \gset
SELECT id AS dropped_run2 FROM flowcontrol.create_flowrun(:obj_flow, 'robust_item', '1') \gset
SELECT 'robust_item'::regclass::oid AS dropped_oid \gset
DROP TABLE robust_item;
SELECT (r).status, (r).outcome, replace(untimed((r).log), :'dropped_oid', 'N') AS log
FROM (SELECT flowcontrol.execute_flowrun(:dropped_run)) AS s(r);
-- so it is for the worker's sweep
SELECT flowcontrol.continue_flowruns() >= 1 AS executed;
SELECT status, outcome, replace(untimed(log), :'dropped_oid', 'N') AS log
FROM flowcontrol.flow_run WHERE id = :dropped_run2;
-- a run cannot be created for a table that does not exist
SELECT replace(try(format('SELECT flowcontrol.create_flowrun(%s, %s, ''1'')', :obj_flow, :dropped_oid)),
			   :'dropped_oid', 'N') AS create_for_dropped_table;
INSERT INTO flowcontrol.trigger (trigger_name, flow_id, active_at) VALUES ('robust_signal', :obj_flow, now());
SELECT replace(try(format('SELECT flowcontrol.trigger_flows(''robust_signal'', %s, ''1'')', :dropped_oid)),
			   :'dropped_oid', 'N') AS trigger_for_dropped_table;

-- A flow whose owner role was dropped: its runs end errored, saying so
CREATE ROLE regress_robust_gone;
GRANT regress_robust_gone TO regress_robust;
SET ROLE regress_robust;
SELECT flowcontrol.define_flow('{"name": "robust orphan", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"ran": true}}}]}') AS orphan \gset
UPDATE flowcontrol.flow SET owner = 'regress_robust_gone' WHERE id = :orphan;
SELECT id AS orphan_run FROM flowcontrol.create_flowrun(:orphan) \gset
RESET ROLE;
SELECT 'regress_robust_gone'::regrole::oid AS gone_oid \gset
DROP ROLE regress_robust_gone;
SELECT (r).status, (r).outcome, replace(replace(untimed((r).log), :'gone_oid', 'N'), :'orphan', 'F') AS log, (r).state
FROM (SELECT flowcontrol.execute_flowrun(:orphan_run)) AS s(r);

-- Limits of state and log size (flowcontrol.max_state_size, max_log_size)
CREATE FUNCTION robust_log(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM flowcontrol.append_log(run.id, repeat('x', (config->>'n')::int));
	RETURN 'continue';
END
$$;
CREATE FUNCTION robust_set_log(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb,
							   OUT directive flowcontrol.directive) LANGUAGE plpgsql AS $$
BEGIN
	run.log := repeat('y', (config->>'n')::int);
END
$$;
-- how much memory the execution holds now, recorded into the state
CREATE FUNCTION robust_measure(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb,
							   OUT directive flowcontrol.directive) LANGUAGE plpgsql AS $$
BEGIN
	run.state := run.state || jsonb_build_object(config->>'key',
		(SELECT sum(total_bytes) FROM pg_backend_memory_contexts
		 WHERE name IN ('flowcontrol execution', 'flowcontrol step')));
END
$$;
SELECT flowcontrol.register_action('RobustLog', 'robust_log(flowcontrol.flow_run, jsonb, jsonb)');
SELECT flowcontrol.register_action('RobustSetLog', 'robust_set_log(flowcontrol.flow_run, jsonb, jsonb)');
SELECT flowcontrol.register_action('RobustMeasure', 'robust_measure(flowcontrol.flow_run, jsonb, jsonb)');

SHOW flowcontrol.max_state_size;
SHOW flowcontrol.max_log_size;
SET flowcontrol.max_state_size = '64kB';
SET flowcontrol.max_log_size = '64kB';
-- a state that outgrows the limit ends the run errored, keeping the last state
SELECT (r).status, (r).outcome, regexp_replace(untimed((r).log), '\(\d+\)', '(N)') AS log, length((r).state->>'s') AS s, (r).state ? 't' AS has_t
FROM (SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "robust big state", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"t": "s|add:s"}, "evaluate": true}}]}'),
	state => jsonb_build_object('s', repeat('a', 40000)))) AS s(r);
-- and so does a user action returning such a state
CREATE FUNCTION robust_grow(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb,
							OUT directive flowcontrol.directive) LANGUAGE plpgsql AS $$
BEGIN
	run.state := run.state || jsonb_build_object('t', repeat('b', 70000));
END
$$;
SELECT flowcontrol.register_action('RobustGrow', 'robust_grow(flowcontrol.flow_run, jsonb, jsonb)');
SELECT (r).status, (r).outcome, regexp_replace(untimed((r).log), '\(\d+\)', '(N)') AS log, (r).state
FROM (SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "robust grow", "active": true,
	"actions": [{"action": "RobustGrow"}]}'), state => '{"before": 1}')) AS s(r);
-- a log that outgrows it: through append_log() or the INOUT run.log
SELECT (r).status, (r).outcome,
	   (SELECT array_agg(length(l)) FROM unnest(string_to_array(untimed((r).log), E'\n')) AS l
		WHERE l NOT LIKE 'Action %' AND l NOT LIKE 'HINT:  %') AS other_lines,
	   regexp_replace(substring(untimed((r).log) from '(?n)^Action .*$'), '\(\d+\)', '(N)') AS error_line
FROM (SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "robust big log", "active": true,
	"actions": [{"action": "ForLoopAction", "config": {"end": 10}, "children": [
		{"action": "RobustLog", "config": {"n": 20000}}]}]}'))) AS s(r);
SELECT (r).status, (r).outcome,
	   (SELECT array_agg(length(l)) FROM unnest(string_to_array(untimed((r).log), E'\n')) AS l
		WHERE l NOT LIKE 'Action %' AND l NOT LIKE 'HINT:  %') AS other_lines,
	   regexp_replace(substring(untimed((r).log) from '(?n)^Action .*$'), '\(\d+\)', '(N)') AS error_line
FROM (SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "robust set log", "active": true,
	"actions": [{"action": "RobustSetLog", "config": {"n": 70000}}]}'))) AS s(r);
-- the same for a message an action ends its own run with
CREATE FUNCTION robust_give_up(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM flowcontrol.error_flowrun(run.id, repeat('z', 70000));
	RETURN 'continue';
END
$$;
SELECT flowcontrol.register_action('RobustGiveUp', 'robust_give_up(flowcontrol.flow_run, jsonb, jsonb)');
SELECT status, outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log
FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "robust give up", "active": true,
	"actions": [{"action": "RobustGiveUp"}]}'));
-- the engine's own line is always added, quoting at most 8 kB of an error
CREATE FUNCTION robust_raise(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '%', repeat('e', 100000);
END
$$;
SELECT flowcontrol.register_action('RobustRaise', 'robust_raise(flowcontrol.flow_run, jsonb, jsonb)');
SELECT status, outcome, length(regexp_replace(untimed(log), '^Action RobustRaise \(\d+\) failed: P0001: ', '')) AS quoted,
	   right(log, 5) AS log_end
FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "robust raise", "active": true,
	"actions": [{"action": "RobustRaise"}]}'));
-- outside an execution, the caller gets the error and nothing changes
SELECT flowcontrol.define_flow('{"name": "robust idle", "active": true, "actions": [{"action": "AbortAction"}]}') AS idle \gset
SELECT id AS idle_run FROM flowcontrol.create_flowrun(:idle) \gset
SELECT replace(replace(statement, :'idle', 'F'), :'idle_run', 'R') AS statement, try(statement) FROM (VALUES
	(format('SELECT flowcontrol.create_flowrun(%s, state => jsonb_build_object(''s'', repeat(''a'', 70000)))', :idle)),
	(format('SELECT flowcontrol.start_flowrun(%s, state => jsonb_build_object(''s'', repeat(''a'', 70000)))', :idle)),
	('SELECT flowcontrol.trigger_flows(''robust_signal'', state => jsonb_build_object(''s'', repeat(''a'', 70000)))'),
	(format('SELECT flowcontrol.reset_flowrun(%s, state => jsonb_build_object(''s'', repeat(''a'', 70000)))', :idle_run)),
	(format('SELECT flowcontrol.append_log(%s, repeat(''x'', 70000))', :idle_run)),
	(format('SELECT flowcontrol.error_flowrun(%s, repeat(''x'', 70000))', :idle_run))
) AS t(statement);
SELECT status, outcome, untimed(log) AS log FROM flowcontrol.flow_run WHERE id = :idle_run;
-- only a superuser may raise the limits
SET ROLE regress_robust;
SELECT try('SET flowcontrol.max_state_size = ''1GB''') AS set_state_limit,
	   try('SET flowcontrol.max_log_size = ''1GB''') AS set_log_limit;
RESET ROLE;
RESET flowcontrol.max_state_size;
RESET flowcontrol.max_log_size;

-- Memory is bounded by the size of state and log: 60 rounds rewriting a
-- 200 kB state, or appending 20 kB to the log, hold a few copies of them,
-- not 60 (0.5 MB and 4.8 MB; 40 MB each when superseded copies were kept)
SELECT (r).status, (r).outcome, ((r).state->>'mem')::bigint < 2000000 AS state_memory_bounded
FROM (SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "robust memory state", "active": true,
	"actions": [
		{"action": "ForLoopAction", "config": {"end": 60}, "children": [
			{"action": "UpdateStateAction", "config": {"state": {"n": "n|add:1"}, "evaluate": true}}]},
		{"action": "RobustMeasure", "config": {"key": "mem"}}]}'),
	state => jsonb_build_object('big', repeat('a', 200000), 'n', 0))) AS s(r);
SELECT (r).status, (r).outcome, length(untimed((r).log)) AS log_length,
	   ((r).state->>'mem')::bigint < 8000000 AS log_memory_bounded
FROM (SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "robust memory log", "active": true,
	"actions": [
		{"action": "ForLoopAction", "config": {"end": 60}, "children": [
			{"action": "RobustLog", "config": {"n": 20000}}]},
		{"action": "RobustMeasure", "config": {"key": "mem"}}]}'))) AS s(r);

-- a flow that fails to load part-way leaves no memory behind: it is built
-- under the statement's context and moved to the cache only when complete
CREATE FUNCTION robust_noop(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'continue'::flowcontrol.directive $$;
SELECT flowcontrol.register_action('RobustVanishing', 'robust_noop(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.define_flow('{"name": "robust vanishing", "active": true,
	"actions": [{"action": "RobustVanishing"}]}') AS vanishing \gset
-- replica mode skips the foreign key (and the cache invalidation: reconnect)
SET session_replication_role = replica;
DELETE FROM flowcontrol.action_type WHERE name = 'RobustVanishing';
RESET session_replication_role;
\c
SET robust.vanishing = :vanishing;
DO $$
BEGIN
	PERFORM flowcontrol.start_flowrun(current_setting('robust.vanishing')::bigint);
EXCEPTION WHEN internal_error THEN
	RAISE NOTICE 'loading failed: %', regexp_replace(SQLERRM, '\d+', 'N');
END
$$;
-- (a fresh session: any flow's context left is the failed one's; counted
-- by name, since PostgreSQL 18 has no "parent" column any more)
SELECT count(*) AS leaked_flow_contexts FROM pg_backend_memory_contexts
WHERE name = 'flowcontrol flow';
DELETE FROM flowcontrol.flow WHERE id = :vanishing;
DROP FUNCTION robust_noop;

DELETE FROM flowcontrol.flow WHERE owner = 'regress_robust'::regrole;
DROP OWNED BY regress_robust;
DROP ROLE regress_robust;
