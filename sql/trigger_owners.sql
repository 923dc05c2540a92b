-- Trigger names have owners: only the owner's members fire a name; they and
-- the roles it was granted to bind flows to it and wait for it; firings
-- skip everyone else; ids of others' objects look like missing ids.
\set SHOW_CONTEXT never
CREATE ROLE regress_shop;			-- owns table shop_orders and the name order_saved
CREATE ROLE regress_attacker;
CREATE ROLE regress_friend;			-- granted order_saved
CREATE ROLE regress_clerk;			-- only writes shop orders
GRANT USAGE ON SCHEMA flowcontrol TO regress_shop, regress_attacker, regress_friend;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO regress_shop, regress_attacker, regress_friend;
GRANT SELECT, INSERT, UPDATE, DELETE ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger
	TO regress_shop, regress_attacker, regress_friend;
GRANT SELECT, DELETE ON flowcontrol.flow_run TO regress_shop, regress_attacker, regress_friend;
GRANT SELECT ON flowcontrol.action_type, flowcontrol.trigger_type, flowcontrol.trigger_grant
	TO regress_shop, regress_attacker, regress_friend;

-- ids depend on earlier test files
CREATE FUNCTION hide_ids(statement text) RETURNS text LANGUAGE sql
AS $$ SELECT regexp_replace(try(statement), '(flow|run|trigger|action) \d+', '\1 N', 'g') $$;
-- registry.sql registered "order_saved" as the superuser; here it is shop's
DELETE FROM flowcontrol.trigger_type WHERE name = 'order_saved';

CREATE TABLE shop_orders (id int PRIMARY KEY, item text);
ALTER TABLE shop_orders OWNER TO regress_shop;
GRANT SELECT ON shop_orders TO regress_friend;
GRANT INSERT, UPDATE ON shop_orders TO regress_clerk;

-- an action that sets waiting_trigger_id itself
CREATE FUNCTION wait_for(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb, OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$
BEGIN
	run.waiting_trigger_id := (config->>'trigger')::bigint;
	directive := 'suspend';
END
$$;
GRANT EXECUTE ON FUNCTION wait_for TO regress_attacker;
SELECT flowcontrol.register_action('WaitFor', 'wait_for(flowcontrol.flow_run,jsonb,jsonb)');

-- only the table's owner (or a member) attaches a trigger to it; the name
-- it registers belongs to the table's owner
SET ROLE regress_attacker;
SELECT try($$SELECT flowcontrol.attach_trigger('shop_orders', 'order_saved')$$);
SELECT flowcontrol.register_trigger('squatted');
RESET ROLE;
SET ROLE regress_shop;
SELECT flowcontrol.attach_trigger('shop_orders', 'order_saved');
-- a name someone else registered first is refused: the table would feed its flows
SELECT flowcontrol.attach_trigger('shop_orders', 'squatted');
SELECT name, object_table, owner FROM flowcontrol.trigger_type WHERE name IN ('order_saved', 'squatted') ORDER BY name;

-- shop's flow, and a trigger that wakes shop's waiting runs
SELECT flowcontrol.define_flow('{"name": "shop flow", "active": true, "max_concurrent_per_object": 0,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"seen": "object.item"}, "evaluate": true}}],
	"triggers": [{"trigger_name": "order_saved"}]}') AS shop_flow \gset
SELECT id AS shop_trigger FROM flowcontrol.trigger WHERE flow_id = :shop_flow \gset
SELECT id AS shop_action FROM flowcontrol.flow_action WHERE flow_id = :shop_flow \gset
INSERT INTO flowcontrol.trigger (trigger_name, create_flow, active_at)
VALUES ('order_saved', false, now()) RETURNING id AS shop_wake \gset
SELECT flowcontrol.define_flow(format('{"name": "shop waits", "active": true, "actions": [
	{"action": "WaitForTriggerAction", "config": {"trigger": %s, "require_object": false}},
	{"action": "UpdateStateAction", "config": {"state": {"woken": true}}}]}', :shop_wake)::jsonb) AS shop_waits \gset
SELECT id AS shop_run, status FROM flowcontrol.start_flowrun(:shop_waits) \gset
RESET ROLE;

-- the attacker cannot bind a flow to order_saved, fire it or grant it
SET ROLE regress_attacker;
SELECT flowcontrol.define_flow('{"name": "attack", "active": true, "actions": [{"action": "AbortAction"}],
	"triggers": [{"trigger_name": "order_saved", "condition": "object.no_such_column.x"}]}');
SELECT flowcontrol.define_flow('{"name": "attacker flow", "active": true, "max_concurrent_per_object": 0,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"stolen": "object.item"}, "evaluate": true}}]}') AS attacker_flow \gset
SELECT id AS attacker_action FROM flowcontrol.flow_action WHERE flow_id = :attacker_flow \gset
SELECT try(format($$INSERT INTO flowcontrol.trigger (trigger_name, flow_id, active_at) VALUES ('order_saved', %s, now())$$, :attacker_flow));
SELECT try($$INSERT INTO flowcontrol.trigger (trigger_name, create_flow, active_at) VALUES ('order_saved', false, now())$$);
SELECT flowcontrol.trigger_flows('order_saved', 'shop_orders', '1');
SELECT try($$SELECT flowcontrol.grant_trigger('order_saved', 'regress_attacker')$$);
SELECT try($$SELECT flowcontrol.revoke_trigger('order_saved', 'regress_shop')$$);
-- its own name may be bound to its flows, but not moved to order_saved
INSERT INTO flowcontrol.trigger (trigger_name, flow_id, active_at)
VALUES ('squatted', :attacker_flow, now()) RETURNING id AS attacker_trigger \gset
SELECT try(format($$UPDATE flowcontrol.trigger SET trigger_name = 'order_saved' WHERE id = %s$$, :attacker_trigger));

-- nor wait for shop's trigger: another role's trigger is one that does not
-- exist, whether named by WaitForTriggerAction or set by an action
SELECT flowcontrol.define_flow(format('{"name": "wait for shop", "active": true,
	"actions": [{"action": "WaitForTriggerAction", "config": {"trigger": %s}}]}', :shop_wake)::jsonb) AS wait_shop \gset
SELECT flowcontrol.define_flow('{"name": "wait for nothing", "active": true,
	"actions": [{"action": "WaitForTriggerAction", "config": {"trigger": 999999999}}]}') AS wait_none \gset
SELECT outcome, regexp_replace(untimed(log), '\d+', 'N', 'g') AS log FROM flowcontrol.start_flowrun(:wait_shop)
UNION ALL
SELECT outcome, regexp_replace(untimed(log), '\d+', 'N', 'g') AS log FROM flowcontrol.start_flowrun(:wait_none);
SELECT flowcontrol.define_flow(format('{"name": "set shop''s id", "active": true,
	"actions": [{"action": "WaitFor", "config": {"trigger": %s}}]}', :shop_wake)::jsonb) AS set_shop \gset
SELECT flowcontrol.define_flow('{"name": "set no id", "active": true,
	"actions": [{"action": "WaitFor", "config": {"trigger": 999999999}}]}') AS set_none \gset
SELECT outcome, regexp_replace(untimed(log), '\d+', 'N', 'g') AS log FROM flowcontrol.start_flowrun(:set_shop)
UNION ALL
SELECT outcome, regexp_replace(untimed(log), '\d+', 'N', 'g') AS log FROM flowcontrol.start_flowrun(:set_none);

-- no oracle: ids of shop's objects give exactly the error of missing ids
SELECT id AS attacker_run FROM flowcontrol.create_flowrun(:attacker_flow) \gset
SELECT hide_ids(format('SELECT flowcontrol.create_flowrun(%s, trigger_id => %s)', :attacker_flow, :shop_trigger)) AS shops,
	   hide_ids(format('SELECT flowcontrol.create_flowrun(%s, trigger_id => 999999999)', :attacker_flow)) AS missing;
SELECT hide_ids(format('SELECT flowcontrol.create_flowrun(%s, parent_run_id => %s)', :attacker_flow, :shop_run)) AS shops,
	   hide_ids(format('SELECT flowcontrol.create_flowrun(%s, parent_run_id => 999999999)', :attacker_flow)) AS missing;
SELECT hide_ids(format('SELECT flowcontrol.start_flowrun(%s, parent_run_id => %s)', :attacker_flow, :shop_run)) AS shops,
	   hide_ids(format('SELECT flowcontrol.start_flowrun(%s, parent_run_id => 999999999)', :attacker_flow)) AS missing;
SELECT hide_ids(format('SELECT flowcontrol.reset_flowrun(%s, trigger_id => %s)', :attacker_run, :shop_wake)) AS shops,
	   hide_ids(format('SELECT flowcontrol.reset_flowrun(%s, trigger_id => 999999999)', :attacker_run)) AS missing;
SELECT hide_ids(format($$SELECT flowcontrol.add_action(%s, 'IfAction', parent_id => %s)$$, :attacker_flow, :shop_action)) AS shops,
	   hide_ids(format($$SELECT flowcontrol.add_action(%s, 'IfAction', parent_id => 999999999)$$, :attacker_flow)) AS missing;
RESET ROLE;

-- bindings that bypassed these checks (a superuser's, or older than a
-- revoke) are skipped when the name fires: the attacker's condition would
-- fail shop's write (the attacker may not read shop_orders), its flow
-- would read shop's row, its waiting run would be woken by shop's event
INSERT INTO flowcontrol.trigger (trigger_name, flow_id, condition, active_at)
VALUES ('order_saved', :attacker_flow, 'object.item == "x"', now());
UPDATE flowcontrol.flow_run SET status = 'waiting', action_id = :attacker_action, waiting_trigger_id = :shop_wake,
	waiting_trigger_match_object = false WHERE id = :attacker_run;
SET ROLE regress_shop;
SELECT f.name, r.status, r.state FROM flowcontrol.trigger_flows('order_saved', 'shop_orders', '1') r
JOIN flowcontrol.flow f ON f.id = r.flow_id ORDER BY f.name;
RESET ROLE;
SET ROLE regress_clerk;
INSERT INTO shop_orders VALUES (1, 'teapot');
RESET ROLE;
SELECT f.name, r.object_id, r.status, r.waiting_trigger_id IS NOT NULL AS waits, r.state
FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
WHERE f.owner IN ('regress_shop'::regrole, 'regress_attacker') AND (r.object_id = '1' OR r.id IN (:shop_run, :attacker_run))
ORDER BY f.name, r.id;
SELECT count(flowcontrol.execute_flowrun(r.id)) AS executed FROM flowcontrol.runnable_runs r
JOIN flowcontrol.flow f ON f.id = r.flow_id WHERE f.owner = 'regress_shop'::regrole;
SELECT state FROM flowcontrol.flow_run WHERE id = :shop_run;

-- a granted role binds its flows and waits for the name; grants do not let it fire
SET ROLE regress_shop;
SELECT flowcontrol.grant_trigger('order_saved', 'regress_friend');
SELECT flowcontrol.grant_trigger('order_saved', 'regress_friend');	-- again: no error
RESET ROLE;
SELECT trigger_name, grantee, granted_by FROM flowcontrol.trigger_grant WHERE trigger_name = 'order_saved' ORDER BY 1, 2;
SET ROLE regress_friend;
SELECT flowcontrol.define_flow('{"name": "friend flow", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"friend_saw": "object.item"}, "evaluate": true}}],
	"triggers": [{"trigger_name": "order_saved", "condition": "object.item != \"secret\""}]}') AS friend_flow \gset
INSERT INTO flowcontrol.trigger (trigger_name, create_flow, active_at)
VALUES ('order_saved', false, now()) RETURNING id AS friend_wake \gset
SELECT flowcontrol.define_flow(format('{"name": "friend waits", "active": true, "actions": [
	{"action": "WaitForTriggerAction", "config": {"trigger": %s, "require_object": false}},
	{"action": "UpdateStateAction", "config": {"state": {"woken": true}}}]}', :friend_wake)::jsonb) AS friend_waits \gset
SELECT id AS friend_run, status FROM flowcontrol.start_flowrun(:friend_waits) \gset
SELECT try($$SELECT flowcontrol.trigger_flows('order_saved')$$);
SELECT try($$SELECT flowcontrol.grant_trigger('order_saved', 'regress_attacker')$$);
RESET ROLE;
SET ROLE regress_clerk;
INSERT INTO shop_orders VALUES (2, 'kettle');
RESET ROLE;
SELECT count(flowcontrol.execute_flowrun(r.id)) AS executed FROM flowcontrol.runnable_runs r
JOIN flowcontrol.flow f ON f.id = r.flow_id WHERE f.owner = 'regress_friend'::regrole;
-- a run that waits while the grant is taken back
SELECT status FROM flowcontrol.start_flowrun(:friend_waits);
SELECT f.name, r.object_id, r.status, r.waiting_trigger_id IS NOT NULL AS waits, r.outcome, r.state
FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
WHERE f.owner = 'regress_friend'::regrole ORDER BY r.id;

-- revoked: the friend's bindings stay, but no firing reaches them, and
-- it can neither bind again nor save or run a new wait for the name
SET ROLE regress_shop;
SELECT flowcontrol.revoke_trigger('order_saved', 'regress_friend');
SELECT flowcontrol.revoke_trigger('order_saved', 'regress_friend');	-- again: no error
RESET ROLE;
SET ROLE regress_clerk;
INSERT INTO shop_orders VALUES (3, 'cup');
RESET ROLE;
SELECT count(flowcontrol.execute_flowrun(r.id)) AS executed FROM flowcontrol.runnable_runs r
JOIN flowcontrol.flow f ON f.id = r.flow_id WHERE f.owner = 'regress_friend'::regrole;
SELECT f.name, r.object_id, r.status, r.waiting_trigger_id IS NOT NULL AS waits, r.outcome, r.state
FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
WHERE f.owner = 'regress_friend'::regrole ORDER BY r.id;
SET ROLE regress_friend;
SELECT count(*) AS kept_bindings FROM flowcontrol.trigger WHERE trigger_name = 'order_saved';
-- deactivating a binding still works; changing what it binds does not
SELECT try(format('UPDATE flowcontrol.trigger SET active_at = NULL WHERE id = %s', :friend_wake));
SELECT try(format('UPDATE flowcontrol.trigger SET flow_id = %s WHERE id = %s', :friend_waits, :friend_wake));
SELECT flowcontrol.define_flow('{"name": "friend again", "active": true, "actions": [{"action": "AbortAction"}],
	"triggers": [{"trigger_name": "order_saved"}]}');
SELECT hide_ids(format($$SELECT flowcontrol.add_action(%s, 'WaitForTriggerAction', '{"trigger": %s}')$$, :friend_waits, :friend_wake));
-- a wait saved while granted can still be edited, but not pointed at the name again
UPDATE flowcontrol.flow_action SET description = 'still editable' WHERE flow_id = :friend_waits AND action = 'WaitForTriggerAction';
UPDATE flowcontrol.flow_action SET config = '{"trigger": 999999999}' WHERE flow_id = :friend_waits AND action = 'WaitForTriggerAction';
UPDATE flowcontrol.trigger SET active_at = now() WHERE id = :friend_wake;
UPDATE flowcontrol.flow_action SET config = format('{"trigger": %s}', :friend_wake)::jsonb
WHERE flow_id = :friend_waits AND action = 'WaitForTriggerAction';
RESET ROLE;
-- a wait saved while granted fails when the run reaches it
UPDATE flowcontrol.flow_action SET config = format('{"trigger": %s}', :friend_wake)::jsonb
WHERE flow_id = :friend_waits AND action = 'WaitForTriggerAction';
SELECT outcome, regexp_replace(untimed(log), '\d+', 'N', 'g') AS log FROM flowcontrol.start_flowrun(:friend_waits);

-- invalid
SET ROLE regress_shop;
SELECT try($$SELECT flowcontrol.grant_trigger('never_registered', 'regress_friend')$$);
SELECT try($$SELECT flowcontrol.grant_trigger(NULL, 'regress_friend')$$);
SELECT try($$SELECT flowcontrol.grant_trigger('order_saved', NULL)$$);
SELECT try($$SELECT flowcontrol.grant_trigger('order_saved', 'regress_nobody')$$);
SELECT try($$SELECT flowcontrol._register_trigger('for_attacker', NULL, '', '', 'regress_attacker')$$);
RESET ROLE;

SELECT count(flowcontrol.delete_flow(id, cancel_runs => true)) FROM flowcontrol.flow
WHERE owner IN ('regress_shop'::regrole, 'regress_attacker', 'regress_friend');
DELETE FROM flowcontrol.trigger WHERE trigger_name IN ('order_saved', 'squatted');
DELETE FROM flowcontrol.trigger_type WHERE name IN ('order_saved', 'squatted');
SELECT flowcontrol.unregister_action('WaitFor');
DROP TABLE shop_orders;
DROP FUNCTION hide_ids, wait_for;
DROP OWNED BY regress_shop, regress_attacker, regress_friend, regress_clerk;
DROP ROLE regress_shop, regress_attacker, regress_friend, regress_clerk;
