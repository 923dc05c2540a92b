-- Engine throughput: start_flowrun() of the seed's for-loop flow
-- (SetState, ForLoop end=3 over UpdateState "i|add:2") against the floor
-- of a bare INSERT + UPDATE of a run row, each 10,000 times in one session,
-- measured side by side in every round.  Run by bench/run (see README.md).
SET bench.rounds = 5;
SET bench.n = 10000;
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS flowcontrol CASCADE;
CREATE EXTENSION flowcontrol;
SELECT flowcontrol.define_flow('{"name": "seed for loop", "active": true, "max_concurrent_per_object": 0,
	"actions": [
		{"action": "SetStateAction", "config": {"state": {"i": 1}}},
		{"action": "ForLoopAction", "config": {"end": 3}, "children": [
			{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:2"}, "evaluate": true}}]}]}') AS flow \gset
SELECT set_config('bench.flow', :'flow', false);
CREATE TEMP TABLE result (round int, engine_ms float8, floor_ms float8);

DO $$
DECLARE
	f bigint := current_setting('bench.flow')::bigint;
	n int := current_setting('bench.n')::int;
	t0 timestamptz;
	e float8;
	r bigint;
	state jsonb;
BEGIN
	-- warm up the caches
	PERFORM flowcontrol.start_flowrun(f) FROM generate_series(1, 100);
	FOR round IN 1 .. current_setting('bench.rounds')::int LOOP
		t0 := clock_timestamp();
		FOR i IN 1 .. n LOOP
			state := (flowcontrol.start_flowrun(f)).state;
		END LOOP;
		e := extract(epoch FROM clock_timestamp() - t0) * 1000;
		IF state <> '{"i": 7}' THEN
			RAISE EXCEPTION 'unexpected final state %', state;
		END IF;
		t0 := clock_timestamp();
		FOR i IN 1 .. n LOOP
			INSERT INTO flowcontrol.flow_run (flow_id) VALUES (f) RETURNING id INTO r;
			UPDATE flowcontrol.flow_run SET status = 'done', outcome = 'complete', state = '{"i": 7}',
				done_at = now() WHERE id = r;
		END LOOP;
		INSERT INTO result VALUES (round, e, extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
END
$$;

SELECT round, round(engine_ms) AS engine_ms, round(floor_ms) AS floor_ms,
	   round((engine_ms / floor_ms)::numeric, 2) AS ratio
FROM result ORDER BY round;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY current_setting('bench.n')::int / engine_ms * 1000)) AS runs_per_second,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY engine_ms / floor_ms)::numeric, 2) AS median_ratio_to_floor
FROM result;
