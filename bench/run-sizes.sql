-- flow_run's size with 200,000 finished runs (bench/README-worker.md):
-- runs created by a table trigger (with objects) and executed by
-- continue_flowruns(), all at once, or with -v batches=1 in 20 batches of
-- 10,000 with a VACUUM after each; -v ff=N sets flow_run's fillfactor.
--   psql -X -q [-v batches=1] [-v ff=90] -f bench/run-sizes.sql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS flowcontrol CASCADE;
DROP TABLE IF EXISTS t_obj;
CREATE EXTENSION flowcontrol;
\if :{?ff}
ALTER TABLE flowcontrol.flow_run SET (fillfactor = :ff);
\endif
CREATE TABLE t_obj (id bigint PRIMARY KEY, note text);
SELECT flowcontrol.attach_trigger('t_obj', 'obj_saved', '{INSERT}') \gset
SELECT flowcontrol.define_flow('{"name": "sized", "active": true,
	"actions": [{"action": "SetStateAction", "config": {"state": {"seen": true}}}], "triggers": [{"trigger_name": "obj_saved"}]}') AS flow \gset
\if :{?batches}
SELECT s FROM generate_series(0, 19) b,
	LATERAL (VALUES (1, format('INSERT INTO t_obj SELECT g, %L FROM generate_series(%s, %s) g',
							  'x', b * 10000 + 1, b * 10000 + 10000)),
					(2, 'SELECT flowcontrol.continue_flowruns()'),
					(3, 'VACUUM flowcontrol.flow_run')) v(o, s)
ORDER BY b, o \gexec
\else
INSERT INTO t_obj SELECT g, 'x' FROM generate_series(1, 200000) g;
SELECT flowcontrol.continue_flowruns() AS executed;
\endif
SELECT status, count(*) FROM flowcontrol.flow_run GROUP BY 1;
SELECT pg_stat_force_next_flush();
SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'flowcontrol.flow_run'::regclass;
SELECT pg_size_pretty(pg_total_relation_size('flowcontrol.flow_run')) AS total,
	   pg_size_pretty(pg_relation_size('flowcontrol.flow_run')) AS heap,
	   pg_size_pretty(pg_indexes_size('flowcontrol.flow_run')) AS indexes;
SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'flowcontrol.flow_run'::regclass ORDER BY 1;
VACUUM flowcontrol.flow_run;
SELECT pg_size_pretty(pg_total_relation_size('flowcontrol.flow_run')) AS total_after_vacuum,
	   pg_size_pretty(pg_relation_size('flowcontrol.flow_run')) AS heap,
	   pg_size_pretty(pg_indexes_size('flowcontrol.flow_run')) AS indexes;
REINDEX TABLE flowcontrol.flow_run;
SELECT pg_size_pretty(pg_total_relation_size('flowcontrol.flow_run')) AS total_after_reindex,
	   pg_size_pretty(pg_relation_size('flowcontrol.flow_run')) AS heap,
	   pg_size_pretty(pg_indexes_size('flowcontrol.flow_run')) AS indexes;
