-- Table triggers: INSERT of 100,000 rows into a table with an attached
-- flow trigger (one active flow creating pending runs), into the same table
-- with no active flow listening, and into one with a PL/pgSQL row trigger
-- that inserts an equivalent run row; each against the same INSERT into a
-- table without triggers, side by side in every round; and "noop", the
-- same INSERT with a row trigger whose C function does nothing.  "floor" is the
-- cheapest way to create the same run rows at all: one INSERT ... SELECT of
-- 100,000 rows straight into flow_run, foreign-key checks off.  "stmt" is
-- the same INSERT with a do-nothing C statement-level trigger that has a
-- transition table (REFERENCING NEW TABLE): what capturing the rows costs,
-- the entry price of creating runs from a statement trigger instead.
SET bench.rounds = 7;
SET bench.rows = 100000;
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS flowcontrol CASCADE;
CREATE EXTENSION flowcontrol;
DROP TABLE IF EXISTS t_plain, t_flow, t_idle, t_plpgsql, t_noop, t_stmt;
DROP FUNCTION IF EXISTS bench_noop_trigger();
CREATE TABLE t_plain (id bigint PRIMARY KEY, note text);
CREATE TABLE t_flow (LIKE t_plain INCLUDING ALL);
CREATE TABLE t_idle (LIKE t_plain INCLUDING ALL);
CREATE TABLE t_plpgsql (LIKE t_plain INCLUDING ALL);
CREATE TABLE t_noop (LIKE t_plain INCLUDING ALL);
CREATE TABLE t_stmt (LIKE t_plain INCLUDING ALL);
-- the floor of any row trigger: a C function that does nothing (bench/noop_trigger.c)
CREATE FUNCTION bench_noop_trigger() RETURNS trigger AS :'noop', 'bench_noop_trigger' LANGUAGE C;
CREATE TRIGGER noop AFTER INSERT ON t_noop FOR EACH ROW EXECUTE FUNCTION bench_noop_trigger();
CREATE TRIGGER stmt AFTER INSERT ON t_stmt REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION bench_noop_trigger();
SELECT flowcontrol.attach_trigger('t_flow', 'flow_saved', '{INSERT}');
SELECT flowcontrol.attach_trigger('t_idle', 'idle_saved', '{INSERT}');
SELECT flowcontrol.define_flow('{"name": "on insert", "active": true,
	"actions": [{"action": "AbortAction"}], "triggers": [{"trigger_name": "flow_saved"}]}') AS flow \gset
-- a flow that listens to idle_saved but is not active
SELECT flowcontrol.define_flow('{"name": "inactive", "active": false,
	"actions": [{"action": "AbortAction"}], "triggers": [{"trigger_name": "idle_saved"}]}');
SELECT id AS trigger_id FROM flowcontrol.trigger WHERE flow_id = :flow \gset
SELECT set_config('bench.flow', :'flow', false), set_config('bench.trigger', :'trigger_id', false);
CREATE FUNCTION plpgsql_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO flowcontrol.flow_run (flow_id, trigger_id, object_table, object_id)
	VALUES (TG_ARGV[0]::bigint, TG_ARGV[1]::bigint, TG_RELID::regclass, NEW.id::text);
	RETURN NULL;
END
$$;
SELECT format('CREATE TRIGGER run AFTER INSERT ON t_plpgsql FOR EACH ROW EXECUTE FUNCTION plpgsql_run(%s, %s)',
			  :flow, :trigger_id) \gexec
CREATE TEMP TABLE result (clock text, round int, plain_ms float8, flow_ms float8, idle_ms float8, plpgsql_ms float8,
						  floor_ms float8, noop_ms float8, stmt_ms float8);

-- The backend's CPU time in ms (Linux: /proc/self/schedstat, in ns): on
-- a loaded machine a statement's wall time includes waiting for a core,
-- its CPU time does not.  Both are recorded; the CPU ratios are steadier.
CREATE FUNCTION pg_temp.cpu_ms() RETURNS float8 LANGUAGE sql AS $$
	SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::float8 / 1e6
$$;
-- wall ms; the CPU ms in bench.cpu
CREATE FUNCTION pg_temp.timed(statement text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	c0 float8 := pg_temp.cpu_ms();
	t0 timestamptz := clock_timestamp();
	wall float8;
BEGIN
	EXECUTE statement;
	wall := extract(epoch FROM clock_timestamp() - t0) * 1000;
	PERFORM set_config('bench.cpu', (pg_temp.cpu_ms() - c0)::text, false);
	RETURN wall;
END
$$;
CREATE FUNCTION pg_temp.cpu() RETURNS float8 LANGUAGE sql AS $$
	SELECT current_setting('bench.cpu')::float8
$$;

DO $$
DECLARE
	rows int := current_setting('bench.rows')::int;
	ins text := 'INSERT INTO %s SELECT g, ''x'' FROM generate_series(1, %s) g';
	p float8; f float8; i float8; l float8; fl float8; n float8; st float8;
	pc float8; fc float8; ic float8; lc float8; flc float8; nc float8; stc float8;
BEGIN
	FOR round IN 1 .. current_setting('bench.rounds')::int LOOP
		TRUNCATE t_plain, t_flow, t_idle, t_plpgsql, t_noop, t_stmt, flowcontrol.flow_run;
		p := pg_temp.timed(format(ins, 't_plain', rows)); pc := pg_temp.cpu();
		n := pg_temp.timed(format(ins, 't_noop', rows)); nc := pg_temp.cpu();
		st := pg_temp.timed(format(ins, 't_stmt', rows)); stc := pg_temp.cpu();
		f := pg_temp.timed(format(ins, 't_flow', rows)); fc := pg_temp.cpu();
		i := pg_temp.timed(format(ins, 't_idle', rows)); ic := pg_temp.cpu();
		l := pg_temp.timed(format(ins, 't_plpgsql', rows)); lc := pg_temp.cpu();
		IF (SELECT count(*) FROM flowcontrol.flow_run WHERE object_table = 't_flow'::regclass) <> rows THEN
			RAISE EXCEPTION 'the flow trigger did not create one run per row';
		END IF;
		TRUNCATE flowcontrol.flow_run;
		SET LOCAL session_replication_role = replica;
		fl := pg_temp.timed(format('INSERT INTO flowcontrol.flow_run (flow_id, trigger_id, object_table, object_id)'
								   ' SELECT %s, %s, %L::regclass, g::text FROM generate_series(1, %s) g',
								   current_setting('bench.flow'), current_setting('bench.trigger'), 't_flow', rows));
		flc := pg_temp.cpu();
		SET LOCAL session_replication_role = origin;
		INSERT INTO result VALUES ('wall', round, p, f, i, l, fl, n, st), ('cpu', round, pc, fc, ic, lc, flc, nc, stc);
	END LOOP;
END
$$;

SELECT clock, round, round(plain_ms) AS plain_ms, round(flow_ms) AS flow_ms, round(idle_ms) AS idle_ms,
	   round(plpgsql_ms) AS plpgsql_ms, round(floor_ms) AS floor_ms, round(noop_ms) AS noop_ms,
	   round(stmt_ms) AS stmt_ms
FROM result ORDER BY clock DESC, round;
SELECT clock, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY flow_ms / plain_ms)::numeric, 2) AS flow_vs_plain,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY idle_ms / plain_ms)::numeric, 2) AS idle_vs_plain,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY noop_ms / plain_ms)::numeric, 2) AS noop_vs_plain,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY idle_ms / noop_ms)::numeric, 2) AS idle_vs_noop,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY plpgsql_ms / plain_ms)::numeric, 2) AS plpgsql_vs_plain,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY flow_ms / plpgsql_ms)::numeric, 2) AS flow_vs_plpgsql,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY floor_ms / plain_ms)::numeric, 2) AS floor_vs_plain,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY flow_ms / floor_ms)::numeric, 2) AS flow_vs_floor,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (flow_ms - plain_ms) / floor_ms)::numeric, 2) AS firing_vs_floor,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY stmt_ms / noop_ms)::numeric, 2) AS stmt_vs_noop
FROM result GROUP BY clock ORDER BY clock DESC;
-- firing_vs_floor: what the trigger adds to the plain INSERT, against the
-- floor -- flow_vs_floor counts the plain INSERT of the table's own rows
-- too, so it is at least 1 + plain/floor.
-- the indexes a new pending run enters, and their sizes after the last round
SELECT c.relname AS index, pg_size_pretty(pg_relation_size(c.oid)) AS size
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'flowcontrol.flow_run'::regclass AND pg_relation_size(c.oid) > 8192 ORDER BY 1;
