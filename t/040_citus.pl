# flowcontrol on a Citus cluster, coordinator mode (doc/scaling.md): a
# coordinator and two workers, flowcontrol's tables and worker on the
# coordinator, objects in distributed tables.  attach_trigger() refuses
# tables that Citus manages; runs started by trigger_flows() read their
# objects from distributed tables and write to them, exactly once, with
# per-object limits and owner rights intact.
#
# Skipped unless FC_CITUS_PREFIX names a private installation with Citus
# (t/FcCitus.pm).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use FcCitus;

my ($coord, @workers) = citus_cluster({ 'flowcontrol.max_workers' => 2 });

is($_->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'flowcontrol'"),
	'1.0', $_->name . ': CREATE EXTENSION flowcontrol was propagated')
  for @workers;

$coord->safe_psql('postgres', q{
CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, paid boolean NOT NULL DEFAULT false);
SELECT create_distributed_table('orders', 'id', shard_count => 4);
CREATE TABLE order_log (order_id bigint, step text, run_id bigint, PRIMARY KEY (order_id, step));
SELECT create_distributed_table('order_log', 'order_id', colocate_with => 'orders');
CREATE TABLE countries (code text PRIMARY KEY);
SELECT create_reference_table('countries');
CREATE TABLE notes (id int PRIMARY KEY);
SELECT citus_add_local_table_to_metadata('notes');
});
is($coord->safe_psql('postgres',
		q{SELECT count(DISTINCT nodeport) FROM pg_dist_shard JOIN pg_dist_placement USING (shardid)
		  JOIN pg_dist_node USING (groupid) WHERE logicalrelid = 'orders'::regclass}),
	'2', 'the shards of orders are on both workers');

# --- attach_trigger() refuses the tables Citus manages, at once ---

for my $case (['orders', 'distributed'], ['countries', 'reference'], ['notes', 'local'])
{
	my ($table, $kind) = @$case;
	my ($ret, $out, $err) = $coord->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT flowcontrol.attach_trigger('$table', '${table}_saved')");
	like($err, qr/ERROR:  0A000: cannot attach a flow trigger to Citus $kind table "public\.$table"/,
		"attach_trigger() on a $kind table is refused");
	like($err, qr/HINT:  Call flowcontrol\.trigger_flows\(\) on the coordinator after writing the row/,
		"... with a hint to trigger_flows()");
}
is($coord->safe_psql('postgres',
		q{SELECT count(*) FROM flowcontrol.trigger_type WHERE name LIKE '%\_saved'}),
	'0', 'no trigger name was registered');
is($coord->safe_psql('postgres', q{
	SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN ('orders'::regclass, 'countries'::regclass, 'notes'::regclass)}),
	'0', 'no table trigger was created on the coordinator');
is($_->safe_psql('postgres', q{SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'flowcontrol\_%'}),
	'0', $_->name . ': no table trigger on the shards')
  for @workers;

# a plain table on the coordinator still takes one
$coord->safe_psql('postgres', q{
CREATE TABLE plain (id int PRIMARY KEY);
SELECT flowcontrol.attach_trigger('plain', 'plain_saved');
});
pass('attach_trigger() on a plain table of the coordinator works');

# a table with a flow trigger cannot be distributed (Citus refuses unless
# citus.enable_unsafe_triggers is on)
my ($ret, $out, $err) = $coord->psql('postgres',
	q{SELECT create_distributed_table('plain', 'id')});
like($err, qr/cannot distribute relation "plain" because it has triggers/,
	'Citus refuses to distribute a table with a flow trigger');

# --- coordinator mode: runs of objects in distributed tables ---

$coord->safe_psql('postgres', flow_role('shop', 'LOGIN') . q{
ALTER TABLE orders OWNER TO shop;
ALTER TABLE order_log OWNER TO shop;
CREATE FUNCTION public.log_order(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.order_log VALUES ((obj->>'id')::bigint, config->>'step', run.id);
	RETURN 'continue';
END $$;
ALTER FUNCTION public.log_order(flowcontrol.flow_run, jsonb, jsonb) OWNER TO shop;
SELECT flowcontrol.register_action('LogOrder', 'public.log_order(flowcontrol.flow_run,jsonb,jsonb)');
});
is($workers[0]->safe_psql('postgres', q{SELECT count(*) FROM pg_roles WHERE rolname = 'shop'}),
	'1', 'the owner role was propagated to the workers');

$coord->safe_psql('postgres', q{
SET ROLE shop;
SELECT flowcontrol.register_trigger('order_paid', 'orders');
SELECT flowcontrol.define_flow('{"name": "paid", "active": true, "object_table": "orders",
  "actions": [
	{"action": "UpdateStateAction", "config": {"state": {"who": "object.customer", "as": "object.paid"}, "evaluate": true}},
	{"action": "LogOrder", "config": {"step": "first"}},
	{"action": "LogOrder", "config": {"step": "second"}}],
  "triggers": [{"trigger_name": "order_paid", "condition": "object.paid"}]}');
});

# the application writes the row and fires the name in one transaction
$coord->safe_psql('postgres', q{
SET ROLE shop;
INSERT INTO orders SELECT i, 'customer ' || i, true FROM generate_series(1, 200) i;
DO $$ BEGIN
	FOR i IN 1..200 LOOP
		PERFORM flowcontrol.trigger_flows('order_paid', 'orders', i::text);
	END LOOP;
END $$;
});
ok($coord->poll_query_until('postgres',
		q{SELECT count(*) = 200 FROM flowcontrol.flow_run WHERE status = 'done'}),
	"the coordinator's workers executed the 200 runs");
is($coord->safe_psql('postgres', q{
	SELECT outcome, count(*) FROM flowcontrol.flow_run GROUP BY outcome}),
	'complete|200', 'all complete');
is($coord->safe_psql('postgres', q{
	SELECT count(*), count(DISTINCT (order_id, step)), count(DISTINCT run_id) FROM order_log}),
	'400|400|200', 'each step ran exactly once, written into the distributed table');
is($coord->safe_psql('postgres', q{
	SELECT state FROM flowcontrol.flow_run WHERE object_id = '17'}),
	'{"as": true, "who": "customer 17"}', 'the object was read from the distributed table');
ok($coord->safe_psql('postgres', q{
	SELECT sum(runs_executed) FROM flowcontrol.workers WHERE worker > 0}) >= 200,
	"the coordinator's workers did the work");
is($_->safe_psql('postgres', q{SELECT count(*) FROM flowcontrol.flow_run}),
	'0', $_->name . ': no runs on the worker node')
  for @workers;

# the per-object limit (one run not done per object) holds: the object row
# of the distributed table is locked through Citus
$coord->safe_psql('postgres', q{
SET ROLE shop;
SELECT flowcontrol.register_trigger('order_hold', 'orders');
SELECT flowcontrol.define_flow('{"name": "waits", "active": true, "object_table": "orders",
  "actions": [{"action": "DelayAction", "config": {"seconds": 3600}}],
  "triggers": [{"trigger_name": "order_hold"}]}');
});
is($coord->safe_psql('postgres', q{
	SET ROLE shop;
	SELECT count(*) FROM flowcontrol.trigger_flows('order_hold', 'orders', '5');}),
	'1', 'a run for order 5');
is($coord->safe_psql('postgres', q{
	SET ROLE shop;
	SELECT count(*) FROM flowcontrol.trigger_flows('order_hold', 'orders', '5');}),
	'0', 'no second run for order 5 while the first is not done');

# the grants README.md's Security section gives the roles that use flowcontrol
sub flow_role
{
	my ($role, $login) = @_;
	return qq{
CREATE ROLE $role $login;
GRANT USAGE ON SCHEMA flowcontrol TO $role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO $role;
GRANT SELECT, INSERT, UPDATE, DELETE ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger TO $role;
GRANT SELECT, DELETE ON flowcontrol.flow_run TO $role;
GRANT SELECT ON flowcontrol.action_type, flowcontrol.trigger_type TO $role;
};
}

# a flow of $role reading order 9: how its run ended
sub read_order_as
{
	my ($role) = @_;
	$coord->safe_psql('postgres', qq{
SET ROLE $role;
SELECT flowcontrol.define_flow('{"name": "read as $role", "active": true, "object_table": "orders",
  "actions": [{"action": "UpdateStateAction", "config": {"state": {"who": "object.customer"}, "evaluate": true}}]}');
SELECT flowcontrol.create_flowrun(f.id, 'orders', '9') FROM flowcontrol.flow f WHERE f.name = 'read as $role';
});
	my $run = qq{FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
		WHERE f.name = 'read as $role'};
	ok($coord->poll_query_until('postgres', "SELECT status = 'done' $run"),
		"${role}'s run was executed");
	return $coord->safe_psql('postgres', "SELECT outcome || ': ' || log $run");
}

# owner rights: a flow of another role cannot read shop's orders
$coord->safe_psql('postgres', flow_role('stranger', 'LOGIN'));
like(read_order_as('stranger'), qr/^errored: .*permission denied for table orders/s,
	'as its owner, it may not read the distributed table: errored');

# Citus reaches the worker nodes as the current user: a flow whose owner
# cannot log in cannot read a distributed table
$coord->safe_psql('postgres', flow_role('team', 'NOLOGIN') . 'GRANT SELECT ON orders TO team;');
like(read_order_as('team'), qr/^errored: .*role "team" is not permitted to log in/s,
	'a NOLOGIN owner cannot reach the worker nodes: errored');

# an action that fails after writing to the distributed table: its
# subtransaction is rolled back on the worker nodes too, and the run ends
# errored
$coord->safe_psql('postgres', q{
CREATE FUNCTION public.log_and_fail(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.order_log VALUES ((obj->>'id')::bigint, 'failing', run.id);
	RAISE EXCEPTION 'failed after writing';
END $$;
ALTER FUNCTION public.log_and_fail(flowcontrol.flow_run, jsonb, jsonb) OWNER TO shop;
SELECT flowcontrol.register_action('LogAndFail', 'public.log_and_fail(flowcontrol.flow_run,jsonb,jsonb)');
SET ROLE shop;
SELECT flowcontrol.define_flow('{"name": "fails", "active": true, "object_table": "orders",
  "actions": [{"action": "LogOrder", "config": {"step": "before failing"}}, {"action": "LogAndFail"}]}');
SELECT flowcontrol.create_flowrun(f.id, 'orders', o.id::text)
FROM flowcontrol.flow f, generate_series(1, 4) o(id) WHERE f.name = 'fails';
});
ok($coord->poll_query_until('postgres', q{
	SELECT bool_and(r.status = 'done') FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
	WHERE f.name = 'fails'}), 'the failing runs were executed');
is($coord->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT outcome || ': ' || (log ~ 'failed after writing'), ',') FROM flowcontrol.flow_run r
	JOIN flowcontrol.flow f ON f.id = r.flow_id WHERE f.name = 'fails'}),
	'errored: true', 'they ended errored, with the error in the log');
is($coord->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE step = 'before failing') || ' ' || count(*) FILTER (WHERE step = 'failing')
	FROM order_log}),
	'4 0', "the failed action's writes to the distributed table were rolled back, the earlier action's kept");

# a deleted object: the run ends obsolete
$coord->safe_psql('postgres', q{
SET ROLE shop;
BEGIN;
SELECT count(*) FROM flowcontrol.trigger_flows('order_hold', 'orders', '6') r;
DELETE FROM orders WHERE id = 6;
COMMIT;
});
ok($coord->poll_query_until('postgres', q{
	SELECT outcome = 'obsolete' FROM flowcontrol.flow_run r JOIN flowcontrol.flow f ON f.id = r.flow_id
	WHERE f.name = 'waits' AND r.object_id = '6'}),
	'runs of a deleted row end obsolete');

$_->stop for ($coord, @workers);
done_testing();
