# A slow action holds only its own run (issue 13, part 1).
#
# Two workers: a run whose action sleeps 8 s, committed together with 50
# quick runs.  The worker that takes the slow run leaves the others
# unlocked and wakes its peer, which executes all 50 while the slow one
# sleeps.  (Before, the first worker claimed all 51 at once, and the 50
# waited for the sleep.)
#
# One worker: a run whose execution is cancelled (pg_cancel_backend) is put
# behind the runs that were waiting for it, and executed again after them,
# in a unit of its own; cancelled three times in a row, it is given up.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FcWorker;

my $slow_seconds = 8;
my $node = new_node('slow', 'flowcontrol.max_workers' => 2);
setup_db($node, 'postgres');
my $slow = $node->safe_psql('postgres', qq{
SELECT flowcontrol.define_flow('{"name": "slow", "active": true,
	"actions": [{"action": "Sleep", "config": {"seconds": $slow_seconds}},
				{"action": "LogStep", "config": {"step": "slow"}}]}')});
my $quick = $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "quick", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "quick"}}]}')});
worker_pid($node, 'postgres', $_) for 1 .. 2;

# the slow run first, so that it is the first one taken
my $t0 = time;
my $slow_run = $node->safe_psql('postgres', qq{
BEGIN;
SELECT id FROM flowcontrol.create_flowrun($slow);
SELECT count(flowcontrol.create_flowrun($quick)) FROM generate_series(1, 50) \\gset
COMMIT;});
$node->poll_query_until('postgres',
	"SELECT count(*) = 50 FROM exec_log WHERE step = 'quick'")
  or die 'quick runs not executed';
my $lag = time - $t0;
my $slow_status = $node->safe_psql('postgres',
	"SELECT status FROM flowcontrol.flow_run WHERE id = $slow_run");
note sprintf('50 quick runs visible as done %.3f s after their commit', $lag);
# 2 s: far below the 8 s sleep, far above the ~0.1 s it takes on a quiet
# machine (poll_query_until looks every 0.1 s)
cmp_ok($lag, '<', 2, 'the quick runs are done within 2 s of their commit');
isnt($slow_status, 'done', 'while the slow run is still executing');
my $slow_pid = $node->safe_psql('postgres', qq{
SELECT pid FROM pg_stat_activity
WHERE backend_type = 'flowcontrol worker' AND wait_event = 'PgSleep'});
is($node->safe_psql('postgres',
	"SELECT count(*) FROM exec_log WHERE step = 'quick' AND pid = '$slow_pid'"),
	'0', 'by the other worker');

$node->poll_query_until('postgres',
	"SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $slow_run")
  or die 'slow run not done';
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE outcome = 'complete'), count(*)
FROM flowcontrol.flow_run}), '51|51', 'every run completed');
is($node->safe_psql('postgres',
	"SELECT extract(epoch FROM s.at - max(q.at)) > $slow_seconds - 3
	 FROM exec_log q, exec_log s WHERE q.step = 'quick' AND s.step = 'slow' GROUP BY s.at"),
	't', 'the slow run ended seconds after the last quick one');
is($node->safe_psql('postgres', 'SELECT sum(errors) FROM flowcontrol.workers'),
	'0', 'no errors');
$node->stop;

# One worker; the gated action waits for advisory lock 7, which the test
# holds, so the test decides how long it is "slow".
my $one = new_node('cancel', 'flowcontrol.max_workers' => 1);
setup_db($one, 'postgres');
my $wpid = worker_pid($one, 'postgres', 1);
my $gated_flow = $one->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "gated", "active": true,
	"actions": [{"action": "WaitLock", "config": {"key": 7}},
				{"action": "LogStep", "config": {"step": "gated"}}]}')});
my $quick_flow = $one->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "quick", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "quick"}}]}')});
my $gate = $one->background_psql('postgres');
$gate->query_safe('SELECT pg_advisory_lock(7)');

sub wait_at_gate
{
	my ($what) = @_;
	$one->poll_query_until('postgres', qq{
SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $wpid AND locktype = 'advisory'
			   AND objid = 7 AND NOT granted)})
	  or die "worker not waiting at the gate $what";
	return;
}

my $gated = $one->safe_psql('postgres',
	"SELECT id FROM flowcontrol.create_flowrun($gated_flow)");
wait_at_gate('first');
$one->safe_psql('postgres',
	"SELECT count(flowcontrol.create_flowrun($quick_flow)) FROM generate_series(1, 20)");
is($one->safe_psql('postgres', "SELECT count(*) FROM exec_log"),
	'0', 'the quick runs wait while the only worker is at the gate');

$one->safe_psql('postgres', "SELECT pg_cancel_backend($wpid)");
$one->poll_query_until('postgres',
	"SELECT count(*) = 20 FROM exec_log WHERE step = 'quick'")
  or die 'quick runs not executed after the cancel';
pass('after the cancel, the quick runs are executed');
wait_at_gate('again');
is($one->safe_psql('postgres', qq{
SELECT a.xact_start > (SELECT max(at) FROM exec_log WHERE step = 'quick')
FROM pg_stat_activity a WHERE a.pid = $wpid}),
	't', 'the cancelled run is executed again after them, in a later transaction');

# cancelled twice more: given up, with the last error in its log
$one->safe_psql('postgres', "SELECT pg_cancel_backend($wpid)");
$one->poll_query_until('postgres',
	'SELECT errors = 2 FROM flowcontrol.workers WHERE worker = 1')
  or die 'second cancel not counted';
wait_at_gate('a third time');
$one->safe_psql('postgres', "SELECT pg_cancel_backend($wpid)");
$one->poll_query_until('postgres',
	"SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $gated")
  or die 'cancelled run not given up';
like($one->safe_psql('postgres',
	"SELECT outcome || ': ' || log FROM flowcontrol.flow_run WHERE id = $gated"),
	qr/^errored: .*Given up after 3 attempts, each ended by a transient error; the last: 57014: canceling statement due to user request/,
	'cancelled three times in a row, the run is given up');
$gate->query_safe('SELECT pg_advisory_unlock(7)');
$gate->quit;

# the worker goes on with other runs
$one->safe_psql('postgres', "SELECT flowcontrol.create_flowrun($quick_flow)");
$one->poll_query_until('postgres',
	"SELECT count(*) = 21 FROM exec_log WHERE step = 'quick'")
  or die 'worker stuck after giving up';
is($one->safe_psql('postgres', "SELECT count(*) FROM exec_log WHERE step = 'gated'"),
	'0', 'the gated step never committed');
$one->stop;

done_testing();
