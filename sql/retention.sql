-- Retention: cleanup_flowruns() deletes the caller's runs that are done and
-- finished longer ago than older_than; never runs that are not done.
CREATE ROLE regress_keeper;
GRANT USAGE ON SCHEMA flowcontrol TO regress_keeper;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO regress_keeper;
GRANT SELECT, INSERT, UPDATE, DELETE ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger
	TO regress_keeper;
GRANT SELECT, DELETE ON flowcontrol.flow_run TO regress_keeper;

SELECT flowcontrol.define_flow('{"name": "kept", "active": true, "actions": []}') AS kept \gset
SET ROLE regress_keeper;
SELECT flowcontrol.define_flow('{"name": "keeper''s", "active": true, "actions": []}') AS keepers \gset
RESET ROLE;

-- ten runs of each flow: done 40, 20 and 0 days ago, and not done
CREATE TEMP TABLE made AS
SELECT flow, i, (flowcontrol.create_flowrun(flow)).id AS run
FROM unnest(ARRAY[:kept, :keepers]::bigint[]) AS flow, generate_series(1, 10) AS i;
UPDATE flowcontrol.flow_run r SET status = 'done', outcome = 'complete',
	done_at = now() - CASE WHEN m.i <= 4 THEN interval '40 days' WHEN m.i <= 7 THEN interval '20 days' ELSE interval '0' END
FROM made m WHERE r.id = m.run AND m.i <= 9;
-- a run not done that was created long ago stays, whatever its done_at says
UPDATE flowcontrol.flow_run r SET done_at = now() - interval '90 days', status = 'waiting',
	continue_after = now() + interval '1 day', action_id = NULL
FROM made m WHERE r.id = m.run AND m.i = 10;

CREATE VIEW kept_runs AS
SELECT f.name, count(*) FILTER (WHERE r.status = 'done') AS done, count(*) FILTER (WHERE r.status <> 'done') AS not_done
FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
WHERE f.name IN ('kept', 'keeper''s') GROUP BY f.name ORDER BY f.name;
GRANT SELECT ON kept_runs TO regress_keeper;
SELECT * FROM kept_runs;

-- a role deletes only its own runs
SET ROLE regress_keeper;
SELECT flowcontrol.cleanup_flowruns('30 days');
RESET ROLE;
SELECT * FROM kept_runs;

-- at most max_runs; rolled back with the transaction
SET ROLE regress_keeper;
SELECT flowcontrol.cleanup_flowruns('10 days', max_runs => 2);
BEGIN;
SELECT flowcontrol.cleanup_flowruns('10 days');
SELECT * FROM kept_runs;
ROLLBACK;
SELECT * FROM kept_runs;
BEGIN;
SAVEPOINT s;
SELECT flowcontrol.cleanup_flowruns('0') > 0 AS deleted;
ROLLBACK TO SAVEPOINT s;
SELECT * FROM kept_runs;
COMMIT;
DO $$
DECLARE n bigint;
BEGIN
	n := flowcontrol.cleanup_flowruns('0');
	RAISE NOTICE 'deleted %', n;
	RAISE EXCEPTION 'and rolled back';
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE 'caught: %', SQLERRM;
END $$;
SELECT * FROM kept_runs;

-- everything done, then nothing left to delete; not-done runs and the
-- runs of other owners stay
SELECT flowcontrol.cleanup_flowruns('0');
SELECT flowcontrol.cleanup_flowruns('0');
RESET ROLE;
SELECT * FROM kept_runs;

-- bad arguments
SELECT flowcontrol.cleanup_flowruns(NULL);
SELECT flowcontrol.cleanup_flowruns('1 day', -1);
SELECT flowcontrol.cleanup_flowruns('1 day', 0);
SET flowcontrol.retention = '1 day';
SHOW flowcontrol.retention;

DROP VIEW kept_runs;
SELECT count(flowcontrol.delete_flow(id, cancel_runs => true)) FROM flowcontrol.flow WHERE name IN ('kept', 'keeper''s');
DROP OWNED BY regress_keeper;
DROP ROLE regress_keeper;
