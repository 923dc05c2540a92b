# The co-located prototype of doc/scaling.md (citus/node.sql,
# citus/coord.sql) on a Citus cluster: a row trigger on a distributed table
# creates each run on the worker node holding the row's shard, in the
# INSERT's transaction, and that node's flowcontrol worker executes it,
# exactly once.  citus/colocated-bench measures the same set-up.
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

# poll_interval is ten minutes: runs executed before it show wake-ups
my ($coord, @workers) = citus_cluster();
my $dir = "$FindBin::RealBin/../citus";
$_->safe_psql('postgres', slurp_file("$dir/node.sql")) for @workers;
$coord->safe_psql('postgres', slurp_file("$dir/coord.sql"));

# runs of every worker node, as one jsonb per node
sub runs_per_node
{
	return [ map { $_->safe_psql('postgres', q{
		SELECT count(*) || ' ' || count(*) FILTER (WHERE outcome = 'complete') || ' '
			   || (SELECT count(*) FROM proto_exec_log)
		FROM flowcontrol.flow_run}) } @workers ];
}
# every worker node's runs done, waiting for them
sub all_done
{
	for my $node (@workers)
	{
		return 0 unless $node->poll_query_until('postgres',
			"SELECT (SELECT count(*) FROM flowcontrol.flow_run WHERE status <> 'done') = 0");
	}
	return 1;
}

# single-row INSERTs commit on one node (one-phase): each node's worker is
# woken by the commit
$coord->safe_psql('postgres',
	join('', map { "INSERT INTO proto_orders_two VALUES ($_, 'single $_');\n" } 1 .. 20));
ok(all_done(), 'the runs of single-row INSERTs were executed at once, on their nodes');

# a multi-row INSERT over both nodes commits with two-phase commit, which
# does not wake the workers (doc/scaling.md): they find the runs at the
# next poll_interval, shortened here
$coord->safe_psql('postgres',
	q{INSERT INTO proto_orders_two SELECT i, 'customer ' || i FROM generate_series(21, 500) i});
for my $node (@workers)
{
	$node->safe_psql('postgres', q{ALTER SYSTEM SET flowcontrol.poll_interval = '500ms'});
	$node->safe_psql('postgres', q{SELECT pg_reload_conf()});
}
ok(all_done(), 'the runs of a two-node INSERT were executed');

my @per_node = @{ runs_per_node() };
my ($runs, $complete, $steps) = (0, 0, 0);
for (@per_node)
{
	my ($r, $c, $s) = split / /;
	ok($r > 0, "a node has runs: $r");
	$runs += $r;
	$complete += $c;
	$steps += $s;
}
is("$runs $complete $steps", '500 500 1000',
	'exactly once: 500 runs, all complete, two steps each');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM flowcontrol.flow_run'),
	'0', 'no run on the coordinator');

# every run is on the node holding its object's shard, attached to the
# shard, with an id from the node's range
for my $node (@workers)
{
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM flowcontrol.flow_run r
		WHERE r.object_table::text NOT IN (
			SELECT s.logicalrelid::text || '_' || s.shardid
			FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
			WHERE s.logicalrelid = 'proto_orders_two'::regclass
			  AND p.groupid = (SELECT groupid FROM pg_dist_local_group))
		   OR r.id >> 40 <> (SELECT groupid FROM pg_dist_local_group)}),
		'0', $node->name . ': its runs are of its own shards, with its ids');
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM flowcontrol.flow_run r JOIN proto_exec_log l USING (object_id)
		WHERE l.run_id <> r.id OR l.object_table <> r.object_table}),
		'0', $node->name . ': each step was logged by the run of its object');
}
is($coord->safe_psql('postgres', q{
	SELECT sum(result::bigint) FROM run_command_on_workers(
		$$SELECT count(DISTINCT state->>'customer') FROM flowcontrol.flow_run$$)}),
	'500', 'each run read its own object from the shard');

$_->stop for ($coord, @workers);
done_testing();
