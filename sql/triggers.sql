-- Triggers: trigger_flows(), waits, resets, and fire() on table rows.
CREATE TABLE app_user (id int PRIMARY KEY, username text);
INSERT INTO app_user VALUES (1, 'example'), (2, 'other');

-- a trigger creates a run linked to it; a condition filters
-- seed: test_triggers.py::test_trigger_flowrun, test_conditional_trigger_flowrun
SELECT flowcontrol.register_trigger('user_saved', 'app_user');
SELECT flowcontrol.define_flow('{"name": "welcome", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"welcomed": "object.username"}, "evaluate": true}}],
	"triggers": [{"trigger_name": "user_saved", "condition": "object.username == \"example\""}]}') AS welcome \gset
SELECT id AS welcome_trigger FROM flowcontrol.trigger WHERE flow_id = :welcome \gset
SELECT status, trigger_id = :welcome_trigger AS linked, object_id, state
FROM flowcontrol.trigger_flows('user_saved', 'app_user', '1', '{"source": "test"}');
SELECT count(*) AS not_matching FROM flowcontrol.trigger_flows('user_saved', 'app_user', '2');
-- immediate: executed before returning
SELECT flowcontrol.cancel_flowruns_for_object('app_user', '1');
SELECT status, outcome, state FROM flowcontrol.trigger_flows('user_saved', 'app_user', '1', immediate => true);
-- the flow's limit (one run per object at a time by default): nothing created
-- seed: test_triggers.py::test_trigger_flowrun_limited
SELECT flowcontrol.cancel_flowruns_for_object('app_user', '1');
SELECT count(*) FROM flowcontrol.trigger_flows('user_saved', 'app_user', '1');
SELECT count(*) AS limited FROM flowcontrol.trigger_flows('user_saved', 'app_user', '1');
-- inactive triggers and flows do nothing
UPDATE flowcontrol.trigger SET active_at = NULL WHERE id = :welcome_trigger;
SELECT flowcontrol.cancel_flowruns_for_object('app_user', '1');
SELECT count(*) AS inactive_trigger FROM flowcontrol.trigger_flows('user_saved', 'app_user', '1');
UPDATE flowcontrol.trigger SET active_at = now() WHERE id = :welcome_trigger;
SELECT flowcontrol.deactivate_flow(:welcome);
SELECT count(*) AS inactive_flow FROM flowcontrol.trigger_flows('user_saved', 'app_user', '1');
SELECT flowcontrol.activate_flow(:welcome);

-- waiting for a trigger: scheduled for the worker, or executed at once
-- seed: test_triggers.py::test_wait_for_trigger_scheduled, test_wait_for_trigger_immediate,
-- test_wait_for_trigger_object_immediate
SELECT flowcontrol.register_trigger('user_confirmed', 'app_user');
INSERT INTO flowcontrol.trigger (trigger_name, create_flow, active_at)
VALUES ('user_confirmed', false, now()) RETURNING id AS confirmed \gset
SELECT flowcontrol.define_flow(format('{"name": "confirm", "active": true, "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"asked": true}}},
	{"action": "WaitForTriggerAction", "config": {"trigger": %s}},
	{"action": "UpdateStateAction", "config": {"state": {"confirmed": true}}}]}', :confirmed)::jsonb) AS confirm \gset
SELECT id AS w1 FROM flowcontrol.start_flowrun(:confirm, 'app_user', '1') \gset
SELECT id AS w2 FROM flowcontrol.start_flowrun(:confirm, 'app_user', '2') \gset
SELECT id = :w1 AS first, status, waiting_trigger_id = :confirmed AS waits, continue_after IS NULL AS no_time, state
FROM flowcontrol.flow_run WHERE id IN (:w1, :w2) ORDER BY id;
SELECT count(*) AS nothing_runnable FROM flowcontrol.runnable_runs WHERE id IN (:w1, :w2);
-- another object wakes nothing; no object wakes nothing
SELECT count(*) FROM flowcontrol.trigger_flows('user_confirmed', 'app_user', '3');
SELECT count(*) FROM flowcontrol.trigger_flows('user_confirmed');
-- scheduled: the trigger is cleared and the run is due now
SELECT id = :w1 AS woken, status, waiting_trigger_id IS NULL AS cleared, continue_after = now() AS due
FROM flowcontrol.trigger_flows('user_confirmed', 'app_user', '1');
SELECT flowcontrol.continue_flowruns();
SELECT status, outcome, state FROM flowcontrol.flow_run WHERE id = :w1;
-- immediate
SELECT id = :w2 AS woken, status, outcome, state
FROM flowcontrol.trigger_flows('user_confirmed', 'app_user', '2', immediate => true);
-- a run that does not require its object is woken by any firing
SELECT id AS w3 FROM flowcontrol.start_flowrun(flowcontrol.define_flow(format('{"name": "any object", "active": true, "actions": [
	{"action": "WaitForTriggerAction", "config": {"trigger": %s, "require_object": false}}]}', :confirmed)::jsonb), 'app_user', '1') \gset
SELECT id = :w3 AS woken, waiting_trigger_match_object FROM flowcontrol.trigger_flows('user_confirmed');

-- a run cannot wait for a trigger that starts flows: it could never wake
SELECT outcome, regexp_replace(untimed(log), '\d+', 'N', 'g') AS log FROM flowcontrol.start_flowrun(flowcontrol.define_flow(format(
	'{"name": "bad wait", "active": true, "actions": [{"action": "WaitForTriggerAction", "config": {"trigger": %s}}]}',
	:welcome_trigger)::jsonb), 'app_user', '1');
-- deleting the trigger a run waits for ends the run
SELECT flowcontrol.register_trigger('user_vanishes');
INSERT INTO flowcontrol.trigger (trigger_name, create_flow, active_at)
VALUES ('user_vanishes', false, now()) RETURNING id AS vanishes \gset
SELECT id AS w5 FROM flowcontrol.start_flowrun(flowcontrol.define_flow(format('{"name": "orphan", "active": true, "actions": [
	{"action": "WaitForTriggerAction", "config": {"trigger": %s}}]}', :vanishes)::jsonb)) \gset
DELETE FROM flowcontrol.trigger WHERE id = :vanishes;
SELECT status, outcome, waiting_trigger_id, regexp_replace(untimed(log), '\d+', 'N', 'g') AS log
FROM flowcontrol.flow_run WHERE id = :w5;

-- reset_to_action: the first run not done goes back to that action
-- seed: test_triggers.py::test_trigger_reset_to_action, test_trigger_reset_to_action_already_done
SELECT flowcontrol.register_trigger('user_reminded', 'app_user');
SELECT id AS wait_action FROM flowcontrol.flow_action WHERE flow_id = :confirm AND action = 'WaitForTriggerAction' \gset
INSERT INTO flowcontrol.trigger (trigger_name, flow_id, reset_to_action_id, active_at)
VALUES ('user_reminded', :confirm, :wait_action, now());
SELECT id AS w4 FROM flowcontrol.start_flowrun(:confirm, 'app_user', '1') \gset
SELECT id = :w4 AS same_run, status, action_id = :wait_action AS at_action, repeat_action, continue_after = now() AS due
FROM flowcontrol.trigger_flows('user_reminded', 'app_user', '1');
SELECT (flowcontrol.cancel_flowrun(:w4)).outcome;
SELECT count(*) AS none_when_done FROM flowcontrol.trigger_flows('user_reminded', 'app_user', '1');

-- fire(): table triggers, for keys of any type
CREATE TABLE ticket (id uuid PRIMARY KEY, title text, priority int);
SELECT flowcontrol.attach_trigger('ticket', 'ticket_changed', '{INSERT,UPDATE,DELETE}');
SELECT tgname, tgtype FROM pg_trigger WHERE tgrelid = 'ticket'::regclass;
SELECT flowcontrol.define_flow('{"name": "escalate", "active": true, "max_concurrent_per_object": 0,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"title": "object.title"}, "evaluate": true}}],
	"triggers": [{"trigger_name": "ticket_changed",
				  "condition": "tg_op == \"INSERT\" or (tg_op == \"UPDATE\" and object.priority > old.priority)"}]}') AS escalate \gset
INSERT INTO ticket VALUES ('00000000-0000-0000-0000-000000000001', 'printer on fire', 1);
UPDATE ticket SET priority = 0;
UPDATE ticket SET priority = 5, title = 'printer still on fire';
SELECT object_table, object_id, status, state FROM flowcontrol.flow_run WHERE flow_id = :escalate ORDER BY id;
SELECT flowcontrol.continue_flowruns();
SELECT state FROM flowcontrol.flow_run WHERE flow_id = :escalate ORDER BY id;
-- the run state does not keep old or tg_op
SELECT count(*) AS polluted FROM flowcontrol.flow_run WHERE state ? 'old' OR state ? 'tg_op';
-- DELETE: the object is the old row; the run becomes obsolete when it executes
UPDATE flowcontrol.trigger SET condition = 'tg_op == "DELETE" and old.title == object.title' WHERE flow_id = :escalate;
DELETE FROM ticket;
SELECT status, outcome, untimed(log) AS log FROM flowcontrol.execute_flowrun(
	(SELECT max(id) FROM flowcontrol.flow_run WHERE flow_id = :escalate));

-- text keys, immediate execution, detaching
CREATE TABLE note (slug text PRIMARY KEY, body text);
SELECT flowcontrol.attach_trigger('note', 'note_written', immediate => true, label => 'Note written');
SELECT label FROM flowcontrol.trigger_type WHERE name = 'note_written';
SELECT flowcontrol.define_flow('{"name": "notes", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"len": "object.body|length"}, "evaluate": true}}],
	"triggers": [{"trigger_name": "note_written"}]}') AS notes \gset
INSERT INTO note VALUES ('hello-world', 'Hello, world');
SELECT object_id, status, outcome, state FROM flowcontrol.flow_run WHERE flow_id = :notes;
SELECT flowcontrol.detach_trigger('note', 'note_written');
INSERT INTO note VALUES ('second', 'not seen');
SELECT count(*) FROM flowcontrol.flow_run WHERE flow_id = :notes;

-- a bulk insert creates one run per row (more rows than the shared lock
-- table has room for: limits must not take a lock per object)
CREATE TABLE event (id bigint PRIMARY KEY);
SELECT flowcontrol.attach_trigger('event', 'event_logged', '{INSERT}');
SELECT flowcontrol.define_flow('{"name": "events", "active": true, "actions": [{"action": "AbortAction"}],
	"triggers": [{"trigger_name": "event_logged"}]}') AS events \gset
INSERT INTO event SELECT g FROM generate_series(1, 10000) g;
SELECT count(*), count(DISTINCT object_id), min(object_id::int), max(object_id::int)
FROM flowcontrol.flow_run WHERE flow_id = :events;
-- runs created by table triggers are ordinary rows: the table can be
-- truncated in the same transaction, savepoints roll them back, and
-- triggers a superuser puts on flow_run fire for them (as the extension
-- owner, with only pg_catalog in the search path)
BEGIN;
INSERT INTO event VALUES (-1), (-2);
SAVEPOINT s;
INSERT INTO event VALUES (-3);
ROLLBACK TO SAVEPOINT s;
INSERT INTO event VALUES (-4);
SELECT object_id FROM flowcontrol.flow_run WHERE flow_id = :events AND object_id::int < 0 ORDER BY 1;
TRUNCATE flowcontrol.flow_run;
ROLLBACK;
CREATE TABLE run_audit (run_id bigint, object_id text);
CREATE FUNCTION audit_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.run_audit VALUES (NEW.id, NEW.object_id);
	RETURN NULL;
END
$$;
CREATE TRIGGER audit AFTER INSERT ON flowcontrol.flow_run FOR EACH ROW EXECUTE FUNCTION audit_run();
INSERT INTO event VALUES (-5);
SELECT object_id FROM run_audit;
DROP TRIGGER audit ON flowcontrol.flow_run;
DELETE FROM event WHERE id < 0;
DELETE FROM flowcontrol.flow_run WHERE flow_id = :events AND object_id::int < 0;

-- with no active flow listening, fire() does nothing
SELECT flowcontrol.deactivate_flow(:events);
INSERT INTO event SELECT g FROM generate_series(10001, 11000) g;
SELECT count(*) FROM flowcontrol.flow_run WHERE flow_id = :events;

-- invalid
SELECT try($$SELECT flowcontrol.trigger_flows('never_registered')$$);
SELECT try($$SELECT flowcontrol.trigger_flows(NULL)$$);
SELECT try($$SELECT flowcontrol.trigger_flows('user_saved', 'app_user')$$);
SELECT try($$SELECT flowcontrol.trigger_flows('user_saved', state => '"x"')$$);
CREATE TABLE no_key (a int, b int);
CREATE TABLE two_keys (a int, b int, PRIMARY KEY (a, b));
SELECT try($$SELECT flowcontrol.attach_trigger('no_key', 'x')$$);
SELECT try($$SELECT flowcontrol.attach_trigger('two_keys', 'x')$$);
SELECT try($$SELECT flowcontrol.attach_trigger('event', 'x', '{}')$$);
SELECT try($$SELECT flowcontrol.attach_trigger('event', 'x', '{TRUNCATE}')$$);
SELECT try($$SELECT flowcontrol.attach_trigger('event', 'event_logged')$$);
SELECT try($$SELECT flowcontrol.detach_trigger('event', 'never_attached')$$);
SELECT try($$SELECT flowcontrol.fire()$$);
CREATE TRIGGER wrong_time BEFORE INSERT ON no_key FOR EACH ROW EXECUTE FUNCTION flowcontrol.fire('x');
SELECT try($$INSERT INTO no_key VALUES (1, 1)$$);
DROP TRIGGER wrong_time ON no_key;
CREATE TRIGGER wrong_args AFTER INSERT ON event FOR EACH ROW EXECUTE FUNCTION flowcontrol.fire('event_logged', 'soon');
SELECT try($$INSERT INTO event VALUES (0)$$);
DROP TRIGGER wrong_args ON event;
CREATE TRIGGER unregistered AFTER INSERT ON event FOR EACH ROW EXECUTE FUNCTION flowcontrol.fire('nobody');
SELECT try($$INSERT INTO event VALUES (0)$$);
DROP TRIGGER unregistered ON event;

-- a table trigger's runs are inserted directly, constraints of flow_run checked
CREATE TABLE checked (id text PRIMARY KEY);
SELECT flowcontrol.attach_trigger('checked', 'checked_saved', '{INSERT}');
SELECT flowcontrol.define_flow('{"name": "checked", "active": true, "object_table": "public.checked",
	"actions": [{"action": "SetStateAction", "config": {"state": {"x": 1}}}],
	"triggers": [{"trigger_name": "checked_saved"}]}') IS NOT NULL AS defined;
ALTER TABLE flowcontrol.flow_run ADD CONSTRAINT flow_run_test_check CHECK (object_id <> 'bad');
INSERT INTO checked VALUES ('good');
\set VERBOSITY terse
INSERT INTO checked VALUES ('bad');
\set VERBOSITY default
SELECT object_id FROM flowcontrol.flow_run WHERE object_table = 'checked'::regclass ORDER BY 1;
ALTER TABLE flowcontrol.flow_run DROP CONSTRAINT flow_run_test_check;
