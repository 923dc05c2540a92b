-- citus/node.sql: the per-node half of the co-located prototype
-- (doc/scaling.md, "The co-located design").  Run on every worker node,
-- connected to it directly (citus/colocated-bench does it): what the design
-- keeps in reference tables -- action registry, trigger names, flows -- is
-- defined here on each node identically, and each node's
-- flowcontrol.flow_run holds the runs of the shards it holds.
--
-- The flow: read the object (from the shard, on this node), log two steps
-- into a node-local table whose primary key makes a step executed twice
-- fail its run, and end.
\set ON_ERROR_STOP 1
-- node-local objects: Citus must not try to propagate them
SET citus.enable_ddl_propagation = off;
-- ids without a global sequence: each node takes its own range of run ids
-- (group id << 40), so a run id names its node
SELECT setval('flowcontrol.flow_run_id_seq', (groupid::bigint << 40) + 1, false)
FROM pg_dist_local_group;

CREATE TABLE proto_exec_log (
	object_id text,
	step text,
	run_id bigint NOT NULL,
	object_table regclass NOT NULL,
	PRIMARY KEY (object_id, step));
CREATE FUNCTION proto_log_step(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.proto_exec_log VALUES (run.object_id, config->>'step', run.id, run.object_table);
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('ProtoLogStep', 'public.proto_log_step(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_trigger('proto_order_saved');
SELECT flowcontrol.define_flow('{"name": "co-located", "active": true,
  "max_concurrent_per_object": 1,
  "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"customer": "object.customer"}, "evaluate": true}},
	{"action": "ProtoLogStep", "config": {"step": "first"}},
	{"action": "ProtoLogStep", "config": {"step": "second"}}],
  "triggers": [{"trigger_name": "proto_order_saved"}]}');
