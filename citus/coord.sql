-- citus/coord.sql: the coordinator's half of the co-located prototype
-- (doc/scaling.md).  Two distributed tables with the same row trigger,
-- made by hand (attach_trigger() refuses distributed tables) with
-- citus.enable_unsafe_triggers: proto_orders_two has its shards on both
-- worker nodes, proto_orders_one a single shard on one node, so the same
-- load can be run on two nodes and on one, side by side.
\set ON_ERROR_STOP 1
CREATE TABLE proto_orders_two (id bigint PRIMARY KEY, customer text NOT NULL);
SELECT create_distributed_table('proto_orders_two', 'id', shard_count => 4);
CREATE TABLE proto_orders_one (id bigint PRIMARY KEY, customer text NOT NULL);
SELECT create_distributed_table('proto_orders_one', 'id', shard_count => 1);
SET citus.enable_unsafe_triggers = on;
CREATE TRIGGER proto_order_saved AFTER INSERT ON proto_orders_two
	FOR EACH ROW EXECUTE FUNCTION flowcontrol.fire('proto_order_saved');
CREATE TRIGGER proto_order_saved AFTER INSERT ON proto_orders_one
	FOR EACH ROW EXECUTE FUNCTION flowcontrol.fire('proto_order_saved');
