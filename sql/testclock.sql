-- The test clock: flowcontrol.time_offset moves the engine's "now" for this
-- session.  Times are compared with now() inside one transaction, never
-- shown.  Runs the other files left behind must not execute under a moved
-- clock, so they go first.
DELETE FROM flowcontrol.flow_run;
SHOW flowcontrol.time_offset;

SELECT flowcontrol.define_flow('{"name": "three days", "active": true, "actions": [
	{"action": "DelayAction", "config": {"seconds": 259200}},
	{"action": "UpdateStateAction", "config": {"state": {"resumed": true}}}]}') AS three_days \gset

-- a 3-day Delay is not due 2 days 23 hours later, and is 3 days later
BEGIN;
SELECT id AS r1 FROM flowcontrol.start_flowrun(:three_days) \gset
SELECT status, continue_after = now() + interval '3 days' AS in_three_days,
	   created_at = now() AS created_now
FROM flowcontrol.flow_run WHERE id = :r1;
COMMIT;
SET flowcontrol.time_offset = '2 days 23 hours';
SELECT flowcontrol.continue_flowruns();
SELECT status, state FROM flowcontrol.execute_flowrun(:r1);
SET flowcontrol.time_offset = '3 days';
BEGIN;
SELECT flowcontrol.continue_flowruns();
-- done_at is the shifted now
SELECT status, outcome, state, done_at = now() + interval '3 days' AS done_3_days_later
FROM flowcontrol.flow_run WHERE id = :r1;
COMMIT;

-- Delays and created_at start from the shifted now
SET flowcontrol.time_offset = '10 days';
BEGIN;
SELECT status, continue_after = now() + interval '13 days' AS from_shifted_now,
	   created_at = now() + interval '10 days' AS created_shifted
FROM flowcontrol.start_flowrun(:three_days);
COMMIT;
-- also when flow_run has triggers of its own (runs are then inserted by SQL)
CREATE FUNCTION noop_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER noop AFTER INSERT ON flowcontrol.flow_run FOR EACH ROW EXECUTE FUNCTION noop_trigger();
BEGIN;
SELECT status, created_at = now() + interval '10 days' AS created_shifted
FROM flowcontrol.create_flowrun(:three_days);
COMMIT;
DROP TRIGGER noop ON flowcontrol.flow_run;
-- ISO 8601 and months: now() + interval, calendar-aware like SQL's
SET flowcontrol.time_offset = 'P1M';
SHOW flowcontrol.time_offset;
BEGIN;
SELECT continue_after = now() + interval '1 month 3 days' AS one_month_on
FROM flowcontrol.start_flowrun(:three_days);
COMMIT;
-- a base date between the real and the shifted now is past: action_if_past
SELECT flowcontrol.define_flow('{"name": "until", "active": true, "actions": [
	{"action": "DelayAction", "config": {"base_date_template": "at"}},
	{"action": "UpdateStateAction", "config": {"state": {"went_on": true}}}]}') AS until_flow \gset
SET flowcontrol.time_offset = '2 days';
SELECT status, outcome, state - 'at' AS state
FROM flowcontrol.start_flowrun(:until_flow, state => jsonb_build_object('at', (now() + interval '1 day')::text));
RESET flowcontrol.time_offset;
SELECT status, outcome, state - 'at' AS state
FROM flowcontrol.start_flowrun(:until_flow, state => jsonb_build_object('at', (now() + interval '1 day')::text));
-- a suspend without a time is due at the shifted now
CREATE FUNCTION pause_once(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'suspend'::flowcontrol.directive $$;
SELECT flowcontrol.register_action('PauseOnce', 'pause_once(flowcontrol.flow_run,jsonb,jsonb)');
BEGIN;
SET LOCAL flowcontrol.time_offset = '5 hours';
SELECT status, continue_after = now() + interval '5 hours' AS due_at_shifted_now
FROM flowcontrol.start_flowrun(flowcontrol.define_flow(
	'{"name": "pause", "active": true, "actions": [{"action": "PauseOnce"}]}'));
COMMIT;
DELETE FROM flowcontrol.flow_run;

-- SET LOCAL and set_config(..., true) end with the transaction, and so
-- does what the run did under them when it rolls back
SELECT id AS r2 FROM flowcontrol.start_flowrun(:three_days) \gset
BEGIN;
SET LOCAL flowcontrol.time_offset = '3 days';
SELECT status, outcome FROM flowcontrol.execute_flowrun(:r2);
ROLLBACK;
SHOW flowcontrol.time_offset;
SELECT status FROM flowcontrol.execute_flowrun(:r2);
BEGIN;
SELECT set_config('flowcontrol.time_offset', '3 days', true);
SELECT flowcontrol.continue_flowruns();
COMMIT;
SHOW flowcontrol.time_offset;
SELECT status, outcome FROM flowcontrol.flow_run WHERE id = :r2;

-- reset and cancel write the shifted now too
SELECT id AS r5 FROM flowcontrol.start_flowrun(:three_days) \gset
SELECT id AS delay_action FROM flowcontrol.flow_action
WHERE flow_id = :three_days AND action = 'DelayAction' \gset
BEGIN;
SET LOCAL flowcontrol.time_offset = '4 days';
SELECT status, continue_after = now() + interval '4 days' AS reset_to_shifted_now
FROM flowcontrol.reset_flowrun(:r5, :delay_action);
SELECT status, done_at = now() + interval '4 days' AS canceled_at_shifted_now
FROM flowcontrol.cancel_flowrun(:r5);
COMMIT;

-- activity: a flow active from tomorrow on, its trigger from the day after
SELECT flowcontrol.register_trigger('clock_tick');
SELECT flowcontrol.define_flow('{"name": "tomorrow", "active": false,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"ran": true}}}],
	"triggers": [{"trigger_name": "clock_tick"}]}') AS tomorrow \gset
SELECT flowcontrol.activate_flow(:tomorrow, now() + interval '1 day');
UPDATE flowcontrol.trigger SET active_at = now() + interval '2 days' WHERE flow_id = :tomorrow;
SELECT try(format('SELECT flowcontrol.create_flowrun(%s)', :tomorrow));
SET flowcontrol.time_offset = '1 day 1 hour';
SELECT status FROM flowcontrol.create_flowrun(:tomorrow);
SELECT count(*) AS trigger_not_yet FROM flowcontrol.trigger_flows('clock_tick');
SET flowcontrol.time_offset = '2 days 1 hour';
SELECT status, state FROM flowcontrol.trigger_flows('clock_tick', immediate => true);
RESET flowcontrol.time_offset;
SELECT count(*) AS trigger_inactive_again FROM flowcontrol.trigger_flows('clock_tick');

-- waits: a run waiting for a trigger and a time is woken only once the
-- time has come on the shifted clock
CREATE FUNCTION wait_a_day(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb,
						   OUT directive flowcontrol.directive)
LANGUAGE plpgsql AS $$
BEGIN
	run.waiting_trigger_id := (config->>'trigger')::bigint;
	run.continue_after := now() + interval '1 day';
	directive := 'suspend';
END
$$;
SELECT flowcontrol.register_action('WaitADay', 'wait_a_day(flowcontrol.flow_run,jsonb,jsonb)');
INSERT INTO flowcontrol.trigger (trigger_name, create_flow, active_at)
VALUES ('clock_tick', false, now()) RETURNING id AS tick \gset
SELECT id AS r3 FROM flowcontrol.start_flowrun(flowcontrol.define_flow(format('{"name": "wait a day", "active": true,
	"actions": [{"action": "WaitADay", "config": {"trigger": %s}},
				{"action": "UpdateStateAction", "config": {"state": {"woken": true}}}]}', :tick)::jsonb)) \gset
SELECT count(*) AS too_early FROM flowcontrol.trigger_flows('clock_tick') WHERE id = :r3;
SET flowcontrol.time_offset = '1 day 1 hour';
BEGIN;
SELECT status, waiting_trigger_id IS NULL AS cleared, continue_after = now() + interval '1 day 1 hour' AS due
FROM flowcontrol.trigger_flows('clock_tick') WHERE id = :r3;
COMMIT;
SELECT status, state FROM flowcontrol.execute_flowrun(:r3);
RESET flowcontrol.time_offset;

-- the clock moves only the flows of owners the session user is a member
-- of: firing a trigger name that both alice and bob may fire (they are
-- members of its owner) leaves the timing of the other's flows alone
CREATE ROLE regress_clock_alice;
CREATE ROLE regress_clock_bob;
CREATE ROLE regress_clock_ringer;
GRANT regress_clock_ringer TO regress_clock_alice, regress_clock_bob;
GRANT USAGE ON SCHEMA flowcontrol TO regress_clock_alice, regress_clock_bob, regress_clock_ringer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO regress_clock_alice, regress_clock_bob, regress_clock_ringer;
GRANT SELECT ON flowcontrol.flow_run TO regress_clock_alice, regress_clock_bob;
SET ROLE regress_clock_ringer;
SELECT flowcontrol.register_trigger('clock_bell');
RESET ROLE;
SELECT flowcontrol.define_flow('{"name": "bob bell", "active": true,
	"actions": [{"action": "DelayAction", "config": {"seconds": 259200}}],
	"triggers": [{"trigger_name": "clock_bell"}]}') AS bob_bell \gset
UPDATE flowcontrol.flow SET owner = 'regress_clock_bob' WHERE id = :bob_bell;
UPDATE flowcontrol.trigger SET active_at = now() + interval '1 day' WHERE flow_id = :bob_bell;
INSERT INTO flowcontrol.trigger (trigger_name, create_flow, active_at, owner)
VALUES ('clock_bell', false, now(), 'regress_clock_bob') RETURNING id AS knock \gset
SELECT id AS bob_wait FROM flowcontrol.start_flowrun(flowcontrol.define_flow(format('{"name": "bob waits", "active": true,
	"actions": [{"action": "WaitADay", "config": {"trigger": %s}}]}', :knock)::jsonb)) \gset
UPDATE flowcontrol.flow SET owner = 'regress_clock_bob'
WHERE id = (SELECT flow_id FROM flowcontrol.flow_run WHERE id = :bob_wait);
-- alice, two days on: bob's trigger is not active yet, his run not due
SET SESSION AUTHORIZATION regress_clock_alice;
SET flowcontrol.time_offset = '2 days';
SELECT count(*) FROM flowcontrol.trigger_flows('clock_bell', immediate => true);
RESET flowcontrol.time_offset;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS bob_bell_runs FROM flowcontrol.flow_run WHERE flow_id = :bob_bell;
SELECT status, waiting_trigger_id IS NOT NULL AS still_waits FROM flowcontrol.flow_run WHERE id = :bob_wait;
-- bob, two days on: his run is woken (and completes), his trigger starts a run
SET SESSION AUTHORIZATION regress_clock_bob;
SET flowcontrol.time_offset = '2 days';
BEGIN;
SELECT id = :bob_wait AS woken, status, outcome,
	   continue_after = now() + interval '5 days' AS delayed_on_bobs_clock
FROM flowcontrol.trigger_flows('clock_bell', immediate => true) ORDER BY id;
COMMIT;
RESET flowcontrol.time_offset;
RESET SESSION AUTHORIZATION;
-- alice, once bob's trigger is active: his Delay counts from the real now
UPDATE flowcontrol.trigger SET active_at = now() WHERE flow_id = :bob_bell;
SET SESSION AUTHORIZATION regress_clock_alice;
SET flowcontrol.time_offset = '2 days';
SELECT count(*) AS visible_to_alice FROM flowcontrol.trigger_flows('clock_bell', immediate => true);
RESET flowcontrol.time_offset;
RESET SESSION AUTHORIZATION;
SELECT status, created_at <= now() AS created_on_real_time,
	   continue_after = created_at + interval '3 days' AS delayed_from_real_now
FROM flowcontrol.flow_run WHERE flow_id = :bob_bell ORDER BY id DESC LIMIT 1;
DELETE FROM flowcontrol.flow_run;
DELETE FROM flowcontrol.trigger WHERE trigger_name = 'clock_bell';
DELETE FROM flowcontrol.trigger_type WHERE name = 'clock_bell';
DELETE FROM flowcontrol.flow WHERE owner = 'regress_clock_bob'::regrole;
REVOKE ALL ON SCHEMA flowcontrol FROM regress_clock_alice, regress_clock_bob, regress_clock_ringer;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA flowcontrol FROM regress_clock_alice, regress_clock_bob, regress_clock_ringer;
REVOKE ALL ON flowcontrol.flow_run FROM regress_clock_alice, regress_clock_bob;
DROP ROLE regress_clock_alice, regress_clock_bob, regress_clock_ringer;

-- a negative offset turns the clock back: flows activated at the real now
-- are not active yet, runs can be made due "in the past"
SET flowcontrol.time_offset = '-3 days';
SELECT try(format('SELECT flowcontrol.create_flowrun(%s)', :three_days));
SELECT flowcontrol.activate_flow(:three_days, now() - interval '1 week');
BEGIN;
SELECT id AS r4 FROM flowcontrol.start_flowrun(:three_days) \gset
SELECT status, continue_after = now() AS due_at_real_now FROM flowcontrol.flow_run WHERE id = :r4;
COMMIT;
RESET flowcontrol.time_offset;
SELECT status, outcome, state FROM flowcontrol.execute_flowrun(:r4);

-- invalid values are rejected and leave the setting as it was
SET flowcontrol.time_offset = '1 hour';
SET flowcontrol.time_offset = 'three days';
SET flowcontrol.time_offset = '';
SET flowcontrol.time_offset = 'infinity';
SET flowcontrol.time_offset = '2026-12-01';
SELECT try($$SELECT set_config('flowcontrol.time_offset', '3 parsecs', false)$$);
SHOW flowcontrol.time_offset;
-- an offset beyond the end of time fails when the engine reads the clock
SET flowcontrol.time_offset = '300000 years';
SELECT try($$SELECT flowcontrol.continue_flowruns()$$);
RESET flowcontrol.time_offset;
