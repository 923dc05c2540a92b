-- attach_trigger() on tables that Citus manages (doc/scaling.md).
-- Without Citus the check looks for Citus's catalog by name and finds none;
-- a look-alike outside pg_catalog is ignored.  The refusal itself is played
-- here against a stand-in for pg_catalog.pg_dist_partition (Citus 13's
-- columns), and on a real cluster by t/040_citus.pl.
CREATE TABLE citus_orders (id int PRIMARY KEY, paid boolean NOT NULL DEFAULT false);
CREATE TABLE citus_items (id int PRIMARY KEY);
CREATE TABLE citus_local (id int PRIMARY KEY);
SELECT flowcontrol.register_trigger('citus_order_saved');
SELECT flowcontrol.define_flow('{"name": "citus check", "active": true,
	"actions": [{"action": "UpdateStateAction", "config": {"state": {"paid": "object.paid"}, "evaluate": true}}],
	"triggers": [{"trigger_name": "citus_order_saved"}]}') AS citus_flow \gset

-- no Citus: attach_trigger() works as always
SELECT to_regclass('pg_catalog.pg_dist_partition') AS citus_catalog;
CREATE TABLE public.pg_dist_partition (logicalrelid regclass, partmethod "char", colocationid int, repmodel "char");
INSERT INTO public.pg_dist_partition VALUES ('citus_orders', 'h', 1, 's');
SET search_path = public, pg_catalog;
SELECT flowcontrol.attach_trigger('citus_orders', 'citus_order_saved');
RESET search_path;
INSERT INTO citus_orders VALUES (1, true);
SELECT status, object_table, object_id, state FROM flowcontrol.flow_run WHERE flow_id = :citus_flow;
SELECT flowcontrol.detach_trigger('citus_orders', 'citus_order_saved');
DROP TABLE public.pg_dist_partition;

-- with Citus's catalog: a distributed, a reference or a Citus local table
-- is refused before anything is registered or created
SET allow_system_table_mods = on;
CREATE TABLE pg_catalog.pg_dist_partition (
	logicalrelid regclass NOT NULL, partmethod "char" NOT NULL, partkey text,
	colocationid integer NOT NULL DEFAULT 0, repmodel "char" NOT NULL DEFAULT 'c',
	autoconverted boolean DEFAULT false);
RESET allow_system_table_mods;
INSERT INTO pg_catalog.pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel)
VALUES ('citus_orders', 'h', '{VAR :varno 1 :varattno 1}', 1, 's'),
	   ('citus_items', 'n', NULL, 2, 't'),
	   ('citus_local', 'n', NULL, 0, 's');
SELECT flowcontrol.attach_trigger('citus_orders', 'citus_order_paid');
\set VERBOSITY sqlstate
SELECT flowcontrol.attach_trigger('citus_orders', 'citus_order_paid');
\set VERBOSITY default
SELECT flowcontrol.attach_trigger('citus_items', 'citus_order_paid');
SELECT flowcontrol.attach_trigger('citus_local', 'citus_order_paid');
SELECT count(*) AS registered FROM flowcontrol.trigger_type WHERE name = 'citus_order_paid';
SELECT count(*) AS table_triggers FROM pg_trigger
WHERE tgrelid IN ('citus_orders'::regclass, 'citus_items'::regclass, 'citus_local'::regclass);
-- a plain table next to them still works
CREATE TABLE citus_plain (id int PRIMARY KEY);
SELECT flowcontrol.attach_trigger('citus_plain', 'citus_order_saved');
INSERT INTO citus_plain VALUES (7);
SELECT object_table, object_id FROM flowcontrol.flow_run WHERE flow_id = :citus_flow ORDER BY id;

SET allow_system_table_mods = on;
DROP TABLE pg_catalog.pg_dist_partition;
RESET allow_system_table_mods;
DELETE FROM flowcontrol.flow_run WHERE flow_id = :citus_flow;
DROP TABLE citus_orders, citus_items, citus_local, citus_plain;
