-- The table-trigger path: one insert state per statement (no executor
-- hooks), released when the statement ends, forgotten when it fails; and
-- the flow_run indexes the limits, resets and cancels use.
CREATE TABLE tp_item (id int PRIMARY KEY, note text);
SELECT flowcontrol.attach_trigger('tp_item', 'tp_saved', '{INSERT}');
SELECT flowcontrol.define_flow('{"name": "tp", "active": true, "actions": [{"action": "AbortAction"}],
	"triggers": [{"trigger_name": "tp_saved"}]}') AS tp \gset
-- a user trigger that fails for one row, after fire() made runs for others
CREATE FUNCTION tp_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.note = 'fail' THEN
		RAISE EXCEPTION 'row % refused', NEW.id;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER zz_fail AFTER INSERT ON tp_item FOR EACH ROW EXECUTE FUNCTION tp_fail();

-- the failing statement leaves nothing behind; the transaction goes on,
-- creates runs again, and can truncate flow_run (nothing holds it open)
BEGIN;
SAVEPOINT a;
INSERT INTO tp_item SELECT g, CASE WHEN g = 3 THEN 'fail' ELSE 'ok' END FROM generate_series(1, 5) g;
ROLLBACK TO SAVEPOINT a;
INSERT INTO tp_item SELECT g, 'ok' FROM generate_series(1, 5) g;
SELECT count(*) AS runs FROM flowcontrol.flow_run WHERE flow_id = :tp;
TRUNCATE flowcontrol.flow_run;
INSERT INTO tp_item VALUES (6, 'ok');
SELECT object_id FROM flowcontrol.flow_run WHERE flow_id = :tp;
ROLLBACK;

-- the same in a PL/pgSQL exception block, and a statement per loop turn
DO $$
BEGIN
	FOR i IN 1 .. 3 LOOP
		BEGIN
			INSERT INTO tp_item VALUES (i * 10, 'ok'), (i * 10 + 1, CASE WHEN i = 2 THEN 'fail' ELSE 'ok' END);
		EXCEPTION WHEN raise_exception THEN
			RAISE NOTICE 'caught: %', SQLERRM;
		END;
	END LOOP;
END
$$;
SELECT array_agg(object_id::int ORDER BY object_id::int) AS objects FROM flowcontrol.flow_run WHERE flow_id = :tp;

-- a firing inside another statement's firing (a user trigger that writes
-- to a second table with a flow trigger) has its own insert state
CREATE TABLE tp_log (id int PRIMARY KEY);
SELECT flowcontrol.attach_trigger('tp_log', 'tp_logged', '{INSERT}');
SELECT flowcontrol.define_flow('{"name": "tp log", "active": true, "actions": [{"action": "AbortAction"}],
	"triggers": [{"trigger_name": "tp_logged"}]}') AS tp_log \gset
CREATE FUNCTION tp_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.tp_log VALUES (NEW.id);
	RETURN NULL;
END
$$;
CREATE TRIGGER zz_copy AFTER INSERT ON tp_item FOR EACH ROW EXECUTE FUNCTION tp_copy();
INSERT INTO tp_item SELECT g, 'ok' FROM generate_series(100, 104) g;
SELECT flow_id = :tp AS item, count(*) FROM flowcontrol.flow_run WHERE object_id::int >= 100 GROUP BY 1 ORDER BY 1;
DROP TRIGGER zz_copy ON tp_item;

-- fire() as a deferred constraint trigger: the runs are made at commit
CREATE TABLE tp_late (id int PRIMARY KEY);
SELECT flowcontrol.register_trigger('tp_late_saved');
SELECT flowcontrol.define_flow('{"name": "tp late", "active": true, "actions": [{"action": "AbortAction"}],
	"triggers": [{"trigger_name": "tp_late_saved"}]}') AS tp_late \gset
CREATE CONSTRAINT TRIGGER late AFTER INSERT ON tp_late DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION flowcontrol.fire('tp_late_saved');
BEGIN;
INSERT INTO tp_late SELECT generate_series(1, 3);
SELECT count(*) AS before_commit FROM flowcontrol.flow_run WHERE flow_id = :tp_late;
COMMIT;
SELECT count(*) AS after_commit FROM flowcontrol.flow_run WHERE flow_id = :tp_late;

-- limits count through the not-done and done-object indexes: two runs per
-- object in all, one at a time
UPDATE flowcontrol.flow SET max_per_object = 2, max_concurrent_per_object = 1 WHERE id = :tp;
INSERT INTO tp_item VALUES (200, 'ok');
SELECT count(*) AS one_at_a_time FROM flowcontrol.trigger_flows('tp_saved', 'tp_item', '200');
SELECT flowcontrol.cancel_flowruns_for_object('tp_item', '200') AS canceled;
SELECT count(*) AS second FROM flowcontrol.trigger_flows('tp_saved', 'tp_item', '200');
SELECT flowcontrol.cancel_flowruns_for_object('tp_item', '200') AS canceled;
SELECT count(*) AS third_refused FROM flowcontrol.trigger_flows('tp_saved', 'tp_item', '200');
SELECT status, outcome, count(*) FROM flowcontrol.flow_run WHERE flow_id = :tp AND object_id = '200' GROUP BY 1, 2;
-- cancel_flowruns_for_object() finds the object's runs of every flow
SELECT count(*) AS other_flow FROM flowcontrol.trigger_flows('tp_logged', 'tp_item', '300');
SELECT count(*) AS first_flow FROM flowcontrol.trigger_flows('tp_saved', 'tp_item', '300');
SELECT flowcontrol.cancel_flowruns_for_object('tp_item', '300') AS canceled_both;

-- deleting a trigger binding clears trigger_id in its runs (no index, one scan)
SELECT count(*) AS linked FROM flowcontrol.flow_run r JOIN flowcontrol.trigger t ON t.id = r.trigger_id
WHERE t.flow_id = :tp_late;
DELETE FROM flowcontrol.trigger WHERE flow_id = :tp_late;
SELECT count(*) FILTER (WHERE trigger_id IS NULL) AS cleared FROM flowcontrol.flow_run WHERE flow_id = :tp_late;
