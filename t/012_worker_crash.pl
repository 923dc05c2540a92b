# SIGKILL of the worker in the middle of a run: the server restarts after
# the crash, the run's committed steps are kept and not executed again, its
# uncommitted ones are executed once by the new worker.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $node = new_node('crash', restart_after_crash => 'on');
setup_db($node, 'postgres');
# a; suspend (commits a); b; wait for lock 42 (the crash comes here); c
my $flow = $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "crash", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "a"}},
				{"action": "Suspend"},
				{"action": "LogStep", "config": {"step": "b"}},
				{"action": "WaitLock", "config": {"key": 42}},
				{"action": "LogStep", "config": {"step": "c"}}]}')});
my $wpid = worker_pid($node, 'postgres', 1);

my $locker = $node->background_psql('postgres');
$locker->query_safe('SELECT pg_advisory_lock(42)');
my $run = $node->safe_psql('postgres', "SELECT id FROM flowcontrol.create_flowrun($flow)");
$node->poll_query_until('postgres', qq{
SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $wpid AND locktype = 'advisory' AND NOT granted)})
  or die 'worker not waiting for the lock';
is($node->safe_psql('postgres', 'SELECT string_agg(step, \',\' ORDER BY at) FROM exec_log'),
	'a', 'before the crash only the step before the suspension is committed');

my $logpos = -s $node->logfile;
kill 'KILL', $wpid;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $logpos);
# the locking session died with the crash
eval { $locker->quit };

$node->poll_query_until('postgres', qq{
SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $run})
  or die 'run not finished after the crash';
is($node->safe_psql('postgres', "SELECT outcome FROM flowcontrol.flow_run WHERE id = $run"),
	'complete', 'the run completed after the crash');
is($node->safe_psql('postgres', 'SELECT string_agg(step, \',\' ORDER BY at) FROM exec_log'),
	'a,b,c', 'each step executed exactly once');
isnt($node->safe_psql('postgres', "SELECT pid FROM exec_log WHERE step = 'c'"),
	$wpid, 'a new worker finished the run');

$node->stop;
done_testing();
