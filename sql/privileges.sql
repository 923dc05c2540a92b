-- Owners and row-level security: two roles each see and change only their
-- own flows and runs; everything a flow does runs as its owner, whoever
-- starts it; table writers need no rights on flowcontrol.
CREATE ROLE regress_alice;
CREATE ROLE regress_bob;
CREATE ROLE regress_writer;
-- what an administrator grants to application roles (see README.md)
GRANT USAGE ON SCHEMA flowcontrol TO regress_alice, regress_bob;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO regress_alice, regress_bob;
GRANT SELECT, INSERT, UPDATE, DELETE ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger
	TO regress_alice, regress_bob;
GRANT SELECT, DELETE ON flowcontrol.flow_run TO regress_alice, regress_bob;
GRANT SELECT ON flowcontrol.action_type, flowcontrol.trigger_type, flowcontrol.filter,
	flowcontrol.runnable_runs, flowcontrol.flow_stats TO regress_alice, regress_bob;

-- errors name flows and runs by id; ids depend on earlier test files
CREATE FUNCTION hide_ids(statement text) RETURNS text LANGUAGE sql
AS $$ SELECT regexp_replace(try(statement), '(flow|run) \d+', '\1 N', 'g') $$;

-- tables: alice may read "shop", bob may read "vault" too; the writer may only insert into shop
CREATE TABLE shop (id int PRIMARY KEY, item text);
CREATE TABLE vault (id int PRIMARY KEY, secret text);
INSERT INTO vault VALUES (1, 'the combination');
GRANT SELECT ON shop TO regress_alice, regress_bob;
GRANT SELECT ON vault TO regress_bob;
GRANT INSERT ON shop TO regress_writer;

-- an action that records who it runs as
CREATE TABLE whoami (run_id bigint, who text);
GRANT INSERT ON whoami TO regress_alice, regress_bob;
CREATE FUNCTION record_user(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb, OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO whoami VALUES (run.id, current_user);
	run.state := run.state || jsonb_build_object('ran_as', current_user);
END
$$;
GRANT EXECUTE ON FUNCTION record_user TO regress_alice, regress_bob;
SELECT flowcontrol.register_action('RecordUser', 'record_user(flowcontrol.flow_run,jsonb,jsonb)');
-- trigger names bob owns and admits alice to (trigger_owners.sql tests the rules)
SET ROLE regress_bob;
SELECT flowcontrol.register_trigger('shop_event', 'shop');
SELECT flowcontrol.register_trigger('vault_event', 'vault');
SELECT flowcontrol.grant_trigger('shop_event', 'regress_alice'), flowcontrol.grant_trigger('vault_event', 'regress_alice');
RESET ROLE;

-- each role defines a flow; owner defaults to the current user
SET ROLE regress_alice;
SELECT flowcontrol.define_flow('{"name": "alice flow", "active": true,
	"actions": [{"action": "RecordUser"}, {"action": "UpdateStateAction", "config": {"state": {"item": "object.item"}, "evaluate": true}}],
	"triggers": [{"trigger_name": "shop_event"}]}') AS alice_flow \gset
SELECT flowcontrol.define_flow('{"name": "alice vault", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"stolen": "object.secret"}, "evaluate": true}}],
	"triggers": [{"trigger_name": "vault_event"}]}') AS alice_vault \gset
RESET ROLE;
SET ROLE regress_bob;
SELECT flowcontrol.define_flow('{"name": "bob flow", "active": true, "max_concurrent_per_object": 0,
	"actions": [{"action": "RecordUser"}], "triggers": [{"trigger_name": "shop_event"}]}') AS bob_flow \gset
SELECT id AS bob_run FROM flowcontrol.create_flowrun(:bob_flow) \gset
-- bob sees only his flow, its actions, triggers and runs
SELECT name, owner FROM flowcontrol.flow ORDER BY id;
SELECT count(*) AS visible_without_owner FROM flowcontrol.flow WHERE owner <> current_user::regrole;
SELECT count(*) AS actions FROM flowcontrol.flow_action;
SELECT trigger_name FROM flowcontrol.trigger;
SELECT count(*) AS runs FROM flowcontrol.flow_run;
-- and cannot touch alice's
UPDATE flowcontrol.flow SET name = 'mine now' WHERE id = :alice_flow;
DELETE FROM flowcontrol.flow_action WHERE flow_id = :alice_flow;
SELECT hide_ids(format('SELECT flowcontrol.create_flowrun(%s)', :alice_flow));
SELECT hide_ids(format('SELECT flowcontrol.start_flowrun(%s)', :alice_flow));
SELECT hide_ids(format('SELECT flowcontrol.export_flow(%s)', :alice_flow));
SELECT hide_ids(format($$SELECT flowcontrol.add_action(%s, 'AbortAction')$$, :alice_flow));
SELECT hide_ids(format('SELECT flowcontrol.activate_flow(%s)', :alice_flow));
SELECT hide_ids($$INSERT INTO flowcontrol.flow (name, owner) VALUES ('for alice', 'regress_alice')$$);
SELECT hide_ids($$SELECT flowcontrol.unregister_action('RecordUser')$$);
RESET ROLE;
SELECT name, (SELECT count(*) FROM flowcontrol.flow_action a WHERE a.flow_id = f.id) AS actions
FROM flowcontrol.flow f WHERE id = :alice_flow;

-- alice's runs are invisible to bob, whatever function he calls
SET ROLE regress_alice;
SELECT id AS alice_run FROM flowcontrol.create_flowrun(:alice_flow, 'shop', '0') \gset
SELECT hide_ids(format('SELECT flowcontrol.execute_flowrun(%s)', :bob_run));
RESET ROLE;
SET ROLE regress_bob;
SELECT hide_ids(format('SELECT flowcontrol.execute_flowrun(%s)', :alice_run));
SELECT hide_ids(format('SELECT flowcontrol.cancel_flowrun(%s)', :alice_run));
SELECT hide_ids(format('SELECT flowcontrol.reset_flowrun(%s)', :alice_run));
SELECT hide_ids(format('SELECT flowcontrol.pause_flowrun(%s)', :alice_run));
SELECT hide_ids(format($$SELECT flowcontrol.append_log(%s, 'x')$$, :alice_run));
SELECT flowcontrol.cancel_flowruns_for_object('shop', '0') AS canceled_for_bob;
-- continue_flowruns as bob executes bob's runs only
SELECT flowcontrol.continue_flowruns();
RESET ROLE;
SELECT r.id = :bob_run AS bobs, r.status FROM flowcontrol.flow_run r
WHERE r.flow_id IN (:alice_flow, :bob_flow) ORDER BY r.id;

-- bob's trigger name starts the flows of every admitted owner, each run
-- executing as its owner; trigger_flows returns only the runs the caller
-- may see.  Alice's flow names no object table, so only a member of alice
-- may choose the object's table: bob's object does not start it.
INSERT INTO shop VALUES (1, 'teapot');
SET ROLE regress_bob;
SELECT f.name, r.status FROM flowcontrol.trigger_flows('shop_event', 'shop', '1', immediate => true) r
JOIN flowcontrol.flow f ON f.id = r.flow_id;
RESET ROLE;
SELECT f.name, r.status, r.state FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
WHERE r.object_id = '1' AND r.object_table = 'shop'::regclass ORDER BY f.name;
SELECT w.who, f.name FROM whoami w JOIN flowcontrol.flow_run r ON r.id = w.run_id
JOIN flowcontrol.flow f ON f.id = r.flow_id ORDER BY f.name, w.who;

-- started by a superuser: still runs as the owner
TRUNCATE whoami;
SELECT (flowcontrol.start_flowrun(:alice_flow, 'shop', '1')).state;
SELECT who FROM whoami;

-- a table trigger fired by a role with no rights on flowcontrol at all
TRUNCATE whoami;
SELECT flowcontrol.attach_trigger('shop', 'shop_event', '{INSERT}', immediate => true);
SET ROLE regress_writer;
INSERT INTO shop VALUES (2, 'kettle');
SELECT try('SELECT count(*) FROM flowcontrol.flow_run');
RESET ROLE;
SELECT who FROM whoami ORDER BY who;
SELECT f.name, r.status, r.outcome, r.state FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
WHERE r.object_id = '2' AND r.object_table = 'shop'::regclass ORDER BY f.name;

-- a row the starter may read but the owner may not never reaches the run
-- (here the run is not even created: alice's flow names no object table)
SET ROLE regress_bob;
SELECT secret FROM vault;
SELECT count(*) AS visible_runs FROM flowcontrol.trigger_flows('vault_event', 'vault', '1', immediate => true);
RESET ROLE;
SELECT status, outcome, state, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log
FROM flowcontrol.flow_run WHERE flow_id = :alice_vault;

-- filters run as the flow owner too
CREATE FUNCTION who_filter(value jsonb, arg jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(current_user::text) $$;
GRANT EXECUTE ON FUNCTION who_filter TO regress_alice;
SELECT flowcontrol.register_filter('who', 'who_filter(jsonb,jsonb)');
SET ROLE regress_alice;
SELECT flowcontrol.define_flow('{"name": "filter owner", "active": true,
	"actions": [{"action": "SetStateAction", "config": {"state": {"filter_ran_as": "x|who"}, "evaluate": true}}]}') AS filter_flow \gset
SELECT (flowcontrol.start_flowrun(:filter_flow)).state;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION who_filter FROM PUBLIC, regress_alice;
SELECT outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log FROM flowcontrol.start_flowrun(:filter_flow);

-- an owner who may not execute a user action's function: the run errors
REVOKE EXECUTE ON FUNCTION record_user FROM PUBLIC, regress_bob;
SELECT status, outcome, regexp_replace(untimed(log), '\(\d+\)', '(N)') AS log FROM flowcontrol.start_flowrun(:bob_flow);

DROP TABLE shop, vault, whoami;
DROP FUNCTION hide_ids;
DROP OWNED BY regress_alice, regress_bob, regress_writer;
DROP ROLE regress_alice, regress_bob, regress_writer;
