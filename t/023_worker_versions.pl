# Deploying a flow while the background worker executes a run of it: the
# deploy does not wait for the worker, the run finishes on the version it
# started on, the next run takes the new version, and the worker removes
# the earlier version once its last run is done.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $node = new_node('versions');
setup_db($node, 'postgres');

# a; suspend (commits a); wait for lock 42; b -- each step names its version
sub doc
{
	my ($v) = @_;
	return qq{'{"name": "deployed", "active": true,
		"actions": [{"action": "LogStep", "config": {"step": "v${v}a"}},
					{"action": "Suspend"},
					{"action": "WaitLock", "config": {"key": 42}},
					{"action": "LogStep", "config": {"step": "v${v}b"}}]}'};
}
my $flow = $node->safe_psql('postgres',
	'SELECT flowcontrol.define_flow(' . doc(1) . ', replace => true)');
my $wpid = worker_pid($node, 'postgres', 1);

my $locker = $node->background_psql('postgres');
$locker->query_safe('SELECT pg_advisory_lock(42)');
my $r1 = $node->safe_psql('postgres', "SELECT id FROM flowcontrol.create_flowrun($flow)");
$node->poll_query_until('postgres', qq{
SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $wpid AND locktype = 'advisory' AND NOT granted)})
  or die 'worker not waiting for the lock';

# the worker holds run 1 (version 1) in an open transaction: deploy version 2
is($node->safe_psql('postgres',
		'SELECT flowcontrol.define_flow(' . doc(2) . ', replace => true)'),
	$flow, 'the deploy keeps the flow id');
is( $node->safe_psql(
		'postgres', qq{
SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $wpid AND locktype = 'advisory' AND NOT granted);
SELECT version, (SELECT array_agg(version) FROM flowcontrol.flow_version) FROM flowcontrol.flow}),
	"t\n2|{1}",
	'the deploy did not wait for the worker, and keeps version 1 for its run');
my $r2 = $node->safe_psql('postgres',
	"SELECT id FROM flowcontrol.create_flowrun($flow) WHERE flow_version = 2");
isnt($r2, '', 'a new run starts on version 2');

$locker->query_safe('SELECT pg_advisory_unlock(42)');
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM flowcontrol.flow_run WHERE status = 'done'")
  or die 'runs not finished';
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(r.id || ':' || r.flow_version || ':' || r.outcome || ':'
	|| (SELECT string_agg(step, ',' ORDER BY at) FROM exec_log l WHERE l.run_id = r.id), ' ' ORDER BY r.id)
FROM flowcontrol.flow_run r}),
	"$r1:1:complete:v1a,v1b $r2:2:complete:v2a,v2b",
	'each run executed the actions of its version');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM flowcontrol.flow_version;
SELECT array_agg(DISTINCT flow_version) FROM flowcontrol.flow_action}),
	"0\n{2}",
	'the worker removed version 1 when its last run was done');

$locker->quit;
$node->stop;
done_testing();
