-- Flows as code: define_flow(..., replace => true) deploys a document as a
-- new version of the caller's flow of that name; runs finish on the version
-- they started on; earlier versions go once no run uses them.
\set SHOW_CONTEXT never
-- ids depend on earlier test files
CREATE FUNCTION v_try(statement text) RETURNS text LANGUAGE sql
AS $$ SELECT regexp_replace(regexp_replace(try(statement), '(flow|run|trigger|action|flows|version) \d+', '\1 N', 'g'),
							'role "[^"]*"', 'role "R"') $$;
-- what the flow consists of: its version, rows, and kept versions
CREATE FUNCTION v_rows(flow bigint) RETURNS TABLE (version integer, actions bigint, triggers bigint, kept integer[])
LANGUAGE sql AS $$
	SELECT f.version,
		   (SELECT count(*) FROM flowcontrol.flow_action a WHERE a.flow_id = f.id),
		   (SELECT count(*) FROM flowcontrol.trigger t WHERE t.flow_id = f.id),
		   (SELECT coalesce(array_agg(v.version ORDER BY v.version), '{}') FROM flowcontrol.flow_version v WHERE v.flow_id = f.id)
	FROM flowcontrol.flow f WHERE f.id = flow
$$;
SELECT flowcontrol.register_trigger('v_event');
SELECT flowcontrol.register_trigger('v_other');

-- a new name: created at version 1
SELECT flowcontrol.define_flow('{"name": "v deploy", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"v": 1}}},
				{"action": "DelayAction", "config": {"seconds": 3600}},
				{"action": "UpdateStateAction", "config": {"state": {"after": 1}}}],
	"triggers": [{"trigger_name": "v_event"}]}', replace => true) AS f \gset
SELECT * FROM v_rows(:f);

-- deploying the same document, or its export, changes nothing
SELECT id AS trig FROM flowcontrol.trigger WHERE flow_id = :f \gset
SELECT flowcontrol.define_flow('{"name": "v deploy", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"v": 1}}},
				{"action": "DelayAction", "config": {"seconds": 3600}},
				{"action": "UpdateStateAction", "config": {"state": {"after": 1}}}],
	"triggers": [{"trigger_name": "v_event"}]}', replace => true) = :f AS same_id;
SELECT flowcontrol.define_flow(flowcontrol.export_flow(:f), replace => true) = :f AS same_id;
SELECT * FROM v_rows(:f);
SELECT max(id) AS last_action FROM flowcontrol.flow_action \gset

-- a run waits at the Delay of version 1
SELECT id AS r1, flow_version FROM flowcontrol.start_flowrun(:f) \gset
SELECT :flow_version AS run_version;

-- version 2: other actions, another trigger; the kept binding keeps its id
SELECT flowcontrol.define_flow('{"name": "v deploy", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"v": 2}}},
				{"action": "DelayAction", "config": {"seconds": 3600}},
				{"action": "UpdateStateAction", "config": {"state": {"after": 2}}}],
	"triggers": [{"trigger_name": "v_event", "condition": "true"}, {"trigger_name": "v_other"}]}',
	replace => true) = :f AS same_id;
SELECT * FROM v_rows(:f);
SELECT trigger_name, id = :trig AS same_binding, condition FROM flowcontrol.trigger WHERE flow_id = :f ORDER BY trigger_name;
-- deploying it again duplicates nothing
SELECT flowcontrol.define_flow(flowcontrol.export_flow(:f), replace => true) = :f AS same_id;
SELECT * FROM v_rows(:f);
SELECT count(*) AS new_actions FROM flowcontrol.flow_action WHERE id > :last_action;

-- version 1 can be exported and drawn while the run uses it
SELECT flowcontrol.export_flow(:f, 1)->'actions'->0->'config' AS v1, flowcontrol.export_flow(:f)->'actions'->0->'config' AS v2;
SELECT flowcontrol.export_flow(:f, 2) = flowcontrol.export_flow(:f) AS current;
SELECT flowcontrol.flow_diagram(:f, 'mermaid', 1) LIKE '%v = 1%' AS v1_drawn, flowcontrol.flow_diagram(:f) LIKE '%v = 2%' AS v2_drawn;

-- version 1 is read-only while the run uses it
SELECT v_try(format($$UPDATE flowcontrol.flow_action SET config = '{"state": {"v": 9}}' WHERE flow_id = %s AND flow_version = 1$$, :f));
SELECT v_try(format($$DELETE FROM flowcontrol.flow_action WHERE flow_id = %s AND flow_version = 1 AND parent_id IS NULL AND position = 2$$, :f));
SELECT v_try(format($$INSERT INTO flowcontrol.flow_action (flow_id, action, flow_version) VALUES (%s, 'AbortAction', 1)$$, :f));
SELECT v_try(format($$UPDATE flowcontrol.flow SET version = 7 WHERE id = %s$$, :f));

-- a new run starts on version 2; the waiting one finishes on version 1
SELECT id AS r2, flow_version, state FROM flowcontrol.start_flowrun(:f) \gset
SELECT :flow_version AS run_version, :'state' AS state;
SET flowcontrol.time_offset = '2 hours';
SELECT count(flowcontrol.execute_flowrun(r)) AS executed FROM unnest(ARRAY[:r1, :r2]::bigint[]) AS r;
RESET flowcontrol.time_offset;
SELECT id = :r1 AS first, flow_version, status, outcome, state FROM flowcontrol.flow_run WHERE id IN (:r1, :r2) ORDER BY id;
-- ... and version 1 went with its last run
SELECT * FROM v_rows(:f);
SELECT count(*) AS v1_actions FROM flowcontrol.flow_action WHERE flow_id = :f AND flow_version = 1;
SELECT v_try(format($$SELECT flowcontrol.export_flow(%s, 1)$$, :f));
SELECT v_try(format($$SELECT flowcontrol.flow_diagram(%s, 'dot', 1)$$, :f));

-- without runs, a deploy removes the version it replaces at once
SELECT flowcontrol.define_flow('{"name": "v deploy", "active": true, "actions": [],
	"triggers": [{"trigger_name": "v_event"}]}', replace => true) = :f AS same_id;
SELECT * FROM v_rows(:f);
SELECT trigger_name, id = :trig AS same_binding FROM flowcontrol.trigger WHERE flow_id = :f ORDER BY trigger_name;

-- rolling back: deploy the old document
SELECT flowcontrol.define_flow('{"name": "v deploy", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"v": 1}}}],
	"triggers": [{"trigger_name": "v_event"}]}', replace => true) = :f AS same_id;
SELECT (flowcontrol.start_flowrun(:f)).state;
SELECT * FROM v_rows(:f);

-- reset_flowrun() to an action takes the run to that action's version;
-- starting over takes it to the current version
SELECT flowcontrol.define_flow('{"name": "v reset", "active": true,
	"actions": [{"action": "DelayAction", "config": {"seconds": 3600}},
				{"action": "UpdateStateAction", "config": {"state": {"v": 1}}}]}', replace => true) AS fr \gset
SELECT id AS rr FROM flowcontrol.start_flowrun(:fr) \gset
SELECT min(id) AS v1_delay FROM flowcontrol.flow_action WHERE flow_id = :fr \gset
SELECT flowcontrol.define_flow('{"name": "v reset", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"v": 2}}}]}', replace => true) = :fr AS same_id;
SELECT flow_version, status FROM flowcontrol.reset_flowrun(:rr, :v1_delay);
SELECT flow_version, status FROM flowcontrol.reset_flowrun(:rr);
SELECT * FROM v_rows(:fr);
SELECT flow_version, state FROM flowcontrol.execute_flowrun(:rr);

-- the document carries a trigger's reset_to_action and future active_at
SELECT flowcontrol.define_flow('{"name": "v export", "active_at": "2999-01-01 00:00:00+00",
	"actions": [{"action": "IfAction", "config": {"condition": "x"}, "children": [
		{"action": "UpdateStateAction", "config": {"state": {"a": 1}}},
		{"action": "UpdateStateAction", "config": {"state": {"b": 1}}}]}],
	"triggers": [{"trigger_name": "v_event", "reset_to_action": "actions[0].children[01]",
				  "active_at": "2998-01-01 00:00:00+00"}]}', replace => true) AS fx \gset
SET TimeZone = 'UTC';
SELECT jsonb_pretty(flowcontrol.export_flow(:fx) - 'actions');
SELECT t.reset_to_action_id = a.id AS reset_to_b FROM flowcontrol.trigger t
JOIN flowcontrol.flow_action a ON a.flow_id = t.flow_id AND a.config = '{"state": {"b": 1}}'
WHERE t.flow_id = :fx;
RESET TimeZone;
-- round trip into a copy, and back as a no-op
SELECT flowcontrol.export_flow(flowcontrol.define_flow(flowcontrol.export_flow(:fx) || '{"name": "v export copy"}'))
	= flowcontrol.export_flow(:fx) || '{"name": "v export copy"}' AS copy_round_trips;
SELECT flowcontrol.define_flow(flowcontrol.export_flow(:fx), replace => true) = :fx AS same_id;
SELECT * FROM v_rows(:fx);

-- several flows of one name: no guessing
SELECT flowcontrol.define_flow('{"name": "v twice"}') IS NOT NULL AS made;
SELECT flowcontrol.define_flow('{"name": "v twice"}') IS NOT NULL AS made;
SELECT v_try($$SELECT flowcontrol.define_flow('{"name": "v twice"}', replace => true)$$);

-- bad documents change nothing
SELECT v_try(format($$SELECT flowcontrol.define_flow(flowcontrol.export_flow(%s) || '{"triggers": [{"trigger_name": "v_event", "reset_to_action": "actions[3]"}]}', true)$$, :fx));
SELECT v_try(format($$SELECT flowcontrol.define_flow(flowcontrol.export_flow(%s) || '{"triggers": [{"trigger_name": "v_event", "reset_to_action": "children[0]"}]}', true)$$, :fx));
SELECT v_try(format($$SELECT flowcontrol.define_flow(flowcontrol.export_flow(%s) || '{"active_at": "soon"}', true)$$, :fx));
SELECT * FROM v_rows(:fx);

-- a binding runs wait for stays until they are done
SELECT flowcontrol.define_flow('{"name": "v waits", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"w": 1}}}],
	"triggers": [{"trigger_name": "v_other", "create_flow": false}]}', replace => true) AS fw \gset
SELECT id AS wait_trigger FROM flowcontrol.trigger WHERE flow_id = :fw \gset
SELECT flowcontrol.define_flow(format('{"name": "v waits", "active": true,
	"actions": [{"action": "WaitForTriggerAction", "config": {"trigger": %s, "require_object": false}}],
	"triggers": [{"trigger_name": "v_other", "create_flow": false}]}', :wait_trigger)::jsonb, replace => true) = :fw AS same_id;
SELECT id AS rw, status FROM flowcontrol.start_flowrun(:fw) \gset
SELECT v_try(format($$SELECT flowcontrol.define_flow('{"name": "v waits", "active": true, "actions": []}', true)$$));
SELECT * FROM v_rows(:fw);

-- an action a run waits at cannot be deleted (it used to be set NULL)
SELECT v_try(format($$DELETE FROM flowcontrol.flow_action WHERE flow_id = %s$$, :fw));
SELECT status, action_id IS NOT NULL AS has_action FROM flowcontrol.flow_run WHERE id = :rw;

-- deleting a flow: refused while runs are not done, unless they are canceled
SELECT v_try(format($$DELETE FROM flowcontrol.flow WHERE id = %s$$, :fw));
SELECT v_try(format($$SELECT flowcontrol.delete_flow(%s)$$, :fw));
SELECT count(*) AS still_there FROM flowcontrol.flow WHERE id = :fw;
SELECT flowcontrol.delete_flow(:fw, cancel_runs => true);
SELECT count(*) AS flows, (SELECT count(*) FROM flowcontrol.flow_run WHERE id = :rw) AS runs
FROM flowcontrol.flow WHERE id = :fw;
SELECT v_try(format($$SELECT flowcontrol.delete_flow(%s)$$, :fw));
SELECT v_try($$SELECT flowcontrol.delete_flow(NULL)$$);
-- a flow whose runs are done goes without cancel_runs
SELECT flowcontrol.delete_flow(:fr);
SELECT count(*) AS gone FROM flowcontrol.flow WHERE id = :fr;

-- unregister_trigger(): refused while flows are bound to the name or a
-- table fires it
CREATE TABLE v_orders (id int PRIMARY KEY);
SELECT flowcontrol.attach_trigger('v_orders', 'v_attached');
SELECT v_try($$SELECT flowcontrol.unregister_trigger('v_attached')$$);
SELECT flowcontrol.detach_trigger('v_orders', 'v_attached');
SELECT flowcontrol.unregister_trigger('v_attached');
SELECT v_try($$SELECT flowcontrol.unregister_trigger('v_event')$$);
SELECT v_try($$SELECT flowcontrol.unregister_trigger('v_nonesuch')$$);
CREATE ROLE regress_v_member;
SELECT flowcontrol.register_trigger('v_loose');
SELECT flowcontrol.grant_trigger('v_loose', 'regress_v_member');
SELECT flowcontrol.unregister_trigger('v_loose');
SELECT count(*) AS left_behind FROM flowcontrol.trigger_type WHERE name IN ('v_loose', 'v_attached')
UNION ALL SELECT count(*) FROM flowcontrol.trigger_grant WHERE trigger_name = 'v_loose';

-- unregister_filter(): refused while an expression of a flow, trigger or
-- action (of any version a run uses) names it
CREATE FUNCTION v_twice(value jsonb, arg jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT value || value $$;
SELECT flowcontrol.register_filter('v_twice', 'v_twice(jsonb,jsonb)');
SELECT flowcontrol.define_flow('{"name": "v filtered", "active": true,
	"actions": [{"action": "DelayAction", "config": {"seconds": 60}},
				{"action": "SendAlertAction", "config": {"body": "{{ x|v_twice }}", "templated": true}}]}',
	replace => true) AS ff \gset
SELECT id AS rf FROM flowcontrol.start_flowrun(:ff) \gset
SELECT v_try($$SELECT flowcontrol.unregister_filter('v_twice')$$);
-- version 2 no longer uses it, but the run on version 1 does
SELECT flowcontrol.define_flow('{"name": "v filtered", "active": true, "actions": []}', replace => true) = :ff AS same_id;
SELECT v_try($$SELECT flowcontrol.unregister_filter('v_twice')$$);
SELECT (flowcontrol.cancel_flowrun(:rf)).outcome;
SELECT * FROM v_rows(:ff);
SELECT flowcontrol.define_flow('{"name": "v filtered", "condition": "y|v_twice"}', replace => true) = :ff AS same_id;
SELECT v_try($$SELECT flowcontrol.unregister_filter('v_twice')$$);
SELECT flowcontrol.define_flow('{"name": "v filtered", "triggers": [{"trigger_name": "v_event", "condition": "z|v_twice"}]}',
	replace => true) = :ff AS same_id;
SELECT v_try($$SELECT flowcontrol.unregister_filter('v_twice')$$);
SELECT flowcontrol.define_flow('{"name": "v filtered"}', replace => true) = :ff AS same_id;
SELECT flowcontrol.unregister_filter('v_twice');
SELECT v_try($$SELECT flowcontrol.unregister_filter('v_twice')$$);
SELECT v_try($$SELECT flowcontrol.unregister_filter('upper')$$);

-- only the flow's owner (and its members) replace it: another role's
-- deploy of the name makes a flow of its own
CREATE ROLE regress_deployer;
CREATE ROLE regress_stranger;
GRANT regress_deployer TO regress_v_member;
GRANT USAGE ON SCHEMA flowcontrol TO regress_deployer, regress_stranger, regress_v_member;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO regress_deployer, regress_stranger, regress_v_member;
GRANT SELECT, INSERT, UPDATE, DELETE ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger
	TO regress_deployer, regress_stranger;
GRANT SELECT ON flowcontrol.flow_version, flowcontrol.trigger_type TO regress_deployer, regress_stranger;
GRANT SELECT, DELETE ON flowcontrol.flow_run TO regress_deployer, regress_stranger;
SET ROLE regress_deployer;
SELECT flowcontrol.define_flow('{"name": "v owned", "actions": [{"action": "AbortAction"}]}', replace => true) AS fo \gset
RESET ROLE;
SET ROLE regress_v_member;		-- a member of the owner replaces it
SELECT flowcontrol.define_flow('{"name": "v owned", "actions": []}', replace => true) = :fo AS same_id;
RESET ROLE;
SET ROLE regress_stranger;		-- another role gets its own flow
SELECT flowcontrol.define_flow('{"name": "v owned", "actions": []}', replace => true) <> :fo AS own_flow;
SELECT v_try(format($$SELECT flowcontrol.export_flow(%s)$$, :fo));
SELECT v_try(format($$SELECT flowcontrol.delete_flow(%s)$$, :fo));
SELECT v_try(format($$SELECT flowcontrol._new_version(%s, '{}')$$, :fo));
SELECT v_try(format($$SELECT flowcontrol._prune_versions(%s)$$, :fo));
SELECT v_try($$SELECT flowcontrol.unregister_trigger('v_other')$$);
RESET ROLE;
SELECT owner, version FROM flowcontrol.flow WHERE name = 'v owned' ORDER BY id;
-- earlier versions are shown only to those who see the flow
SET ROLE regress_deployer;
SELECT flowcontrol.activate_flow(:fo);
SELECT flowcontrol.define_flow('{"name": "v owned", "active": true,
	"actions": [{"action": "DelayAction", "config": {"seconds": 60}}]}', replace => true) = :fo AS same_id;
SELECT status FROM flowcontrol.start_flowrun(:fo);
SELECT flowcontrol.define_flow('{"name": "v owned", "active": true, "actions": []}', replace => true) = :fo AS same_id;
SELECT version FROM flowcontrol.flow_version WHERE flow_id = :fo;
RESET ROLE;
SET ROLE regress_stranger;
SELECT count(*) AS seen FROM flowcontrol.flow_version WHERE flow_id = :fo;
SELECT v_try(format($$SELECT flowcontrol.export_flow(%s, 3)$$, :fo));
SELECT v_try(format($$SELECT flowcontrol.flow_diagram(%s, 'mermaid', 3)$$, :fo));
RESET ROLE;
SELECT count(flowcontrol.delete_flow(id, cancel_runs => true)) FROM flowcontrol.flow WHERE name = 'v owned';
DROP OWNED BY regress_deployer, regress_stranger, regress_v_member;
DROP ROLE regress_deployer, regress_stranger, regress_v_member;

-- an action's time limit and retry policy are part of the document: an
-- unchanged one deploys as a no-op, a changed one as a new version
SELECT flowcontrol.define_flow('{"name": "v policies", "actions": [{"action": "UpdateStateAction",
	"config": {"state": {"p": 1}}, "timeout": 2.5, "retry": {"max_attempts": 3, "initial_interval": 1}}]}',
	replace => true) AS fp \gset
SELECT flowcontrol.define_flow(flowcontrol.export_flow(:fp), replace => true) = :fp AS same_id;
SELECT * FROM v_rows(:fp);
SELECT flowcontrol.define_flow(jsonb_set(flowcontrol.export_flow(:fp), '{actions,0,timeout}', '3'), replace => true) = :fp AS same_id;
SELECT * FROM v_rows(:fp);
SELECT flowcontrol.export_flow(:fp)->'actions'->0->'timeout' AS timeout;

-- more that is refused, and changes nothing
SELECT v_try($$INSERT INTO flowcontrol.flow (name, version) VALUES ('v direct', 2)$$);
SELECT v_try(format($$INSERT INTO flowcontrol.flow_action (flow_id, action, flow_version) VALUES (%s, 'AbortAction', 9)$$, :fp));
SELECT v_try(format($$UPDATE flowcontrol.flow_action SET flow_version = 1 WHERE flow_id = %s$$, :fp));
SELECT v_try(format($$SELECT flowcontrol.export_flow(%s, 99)$$, :fp));
SELECT flowcontrol.define_flow('{"name": "v waited for",
	"triggers": [{"trigger_name": "v_other", "create_flow": false}]}', replace => true) AS fb \gset
SELECT id AS waited_for FROM flowcontrol.trigger WHERE flow_id = :fb \gset
SELECT flowcontrol.define_flow(format('{"name": "v waiter",
	"actions": [{"action": "WaitForTriggerAction", "config": {"trigger": %s}}]}', :waited_for)::jsonb, replace => true) IS NOT NULL AS made;
SELECT v_try($$SELECT flowcontrol.define_flow('{"name": "v waited for"}', true)$$);
SELECT * FROM v_rows(:fb);
-- a run's own action deleting its flow
CREATE FUNCTION v_delete_own(run flowcontrol.flow_run, obj jsonb, config jsonb) RETURNS flowcontrol.directive
LANGUAGE plpgsql AS $$ BEGIN PERFORM flowcontrol.delete_flow(run.flow_id, true); RETURN 'continue'; END $$;
SELECT flowcontrol.register_action('VDeleteOwn', 'v_delete_own(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.define_flow('{"name": "v self", "active": true, "actions": [{"action": "VDeleteOwn"}]}', replace => true) AS fs \gset
SELECT status, outcome, regexp_replace(regexp_replace(log, '^.*failed: ', ''), '(flow|run) \d+', '\1 N', 'g') AS log
FROM flowcontrol.start_flowrun(:fs);
SELECT count(*) AS kept FROM flowcontrol.flow WHERE id = :fs;
