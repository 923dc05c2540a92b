# A transient error inside an action -- here a deadlock -- is not the run's
# fault: the worker rolls its unit of work back, pauses, and executes the run
# again, which then completes.  Before issue 21 the run ended errored.  A
# run that fails so every time is given up after three attempts.
#
# The deadlock: the action takes advisory lock 2, waits for a shared lock on
# 3 (held by session B, so the test controls when it goes on), then takes
# lock 1.  Session A holds lock 1 and waits for lock 2.  When B lets the
# action go on, the worker waits for A while A waits for the worker; the
# worker's deadlock_timeout is short and A's is long, so the worker is the
# one that detects the deadlock and gets the error.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $node = new_node('transient', deadlock_timeout => "'100ms'");
setup_db($node, 'postgres');
my $wpid = worker_pid($node, 'postgres', 1);

$node->safe_psql('postgres', q{
CREATE FUNCTION lock_two(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(2);
	PERFORM pg_advisory_xact_lock_shared(3);
	PERFORM pg_advisory_xact_lock(1);
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('LockTwo', 'lock_two(flowcontrol.flow_run,jsonb,jsonb)');
});
my $flow = $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "deadlocks", "active": true,
	"actions": [{"action": "LockTwo"}, {"action": "LogStep", "config": {"step": "done"}}]}')});

my $a = $node->background_psql('postgres');
my $b = $node->background_psql('postgres');
$a->query_safe("SET deadlock_timeout = '1h'");
$a->query_safe('SELECT pg_advisory_lock(1)');
$b->query_safe('SELECT pg_advisory_lock(3)');
my $apid = $a->query_safe('SELECT pg_backend_pid()');
chomp $apid;

my $run = $node->safe_psql('postgres', "SELECT id FROM flowcontrol.create_flowrun($flow)");
$node->poll_query_until('postgres', qq{
SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $wpid AND locktype = 'advisory'
			   AND objid = 3 AND NOT granted)})
  or die 'worker not waiting for lock 3';

# A waits for lock 2, which the worker holds
$a->query_until(qr/waiting/, "\\echo waiting\nSELECT pg_advisory_lock(2);\n");
$node->poll_query_until('postgres', qq{
SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $apid AND locktype = 'advisory'
			   AND objid = 2 AND NOT granted)})
  or die 'session A not waiting for lock 2';

# let the action go on into the deadlock
$b->query_safe('SELECT pg_advisory_unlock(3)');
$node->poll_query_until('postgres', q{
SELECT errors = 1 AND last_error LIKE 'deadlock detected%' FROM flowcontrol.workers WHERE worker = 1})
  or die 'deadlock not reported by the worker';
is($node->safe_psql('postgres', "SELECT status FROM flowcontrol.flow_run WHERE id = $run"),
	'pending', 'the deadlocked run is rolled back, not errored');

# A got lock 2 when the worker's unit rolled back; now A lets go of both
$a->query_safe('SELECT pg_advisory_unlock_all()');
$node->poll_query_until('postgres', qq{
SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $run})
  or die 'run not executed again';
is($node->safe_psql('postgres',
	"SELECT outcome || ' ' || (SELECT count(*) FROM exec_log WHERE run_id = $run) FROM flowcontrol.flow_run WHERE id = $run"),
	'complete 1', 'the retried run completes, its steps executed once');
is($node->safe_psql('postgres', 'SELECT errors FROM flowcontrol.workers WHERE worker = 1'),
	'1', 'one error: the retry came after a pause, not in a hot loop');
is($node->safe_psql('postgres', 'SELECT pid FROM flowcontrol.workers WHERE worker = 1'),
	$wpid, 'the same worker process retried the run');

# in a session's execute_flowrun such an error reaches the caller (the
# worker is disabled so that the run is the session's)
$node->safe_psql('postgres', 'ALTER SYSTEM SET flowcontrol.enabled = off');
$node->reload;
wait_for_worker($node, 'postgres', 1, 'disabled');
$node->safe_psql('postgres', q{
CREATE FUNCTION fails(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'could not serialize' USING ERRCODE = 'serialization_failure';
END $$;
SELECT flowcontrol.register_action('Fails', 'fails(flowcontrol.flow_run,jsonb,jsonb)');
});
$run = $node->safe_psql('postgres', q{
SELECT id FROM flowcontrol.create_flowrun(flowcontrol.define_flow('{"name": "session", "active": true,
	"actions": [{"action": "Fails"}]}'))});
my ($ret, $out, $err) = $node->psql('postgres', "SELECT flowcontrol.execute_flowrun($run)");
like($err, qr/could not serialize/, 'a serialization failure in a session reaches the caller');
is($node->safe_psql('postgres', "SELECT status FROM flowcontrol.flow_run WHERE id = $run"),
	'pending', 'and leaves the run as it was');

# a run that fails transiently every time is given up after three
# attempts, so that the runs behind it are not held up for ever
$node->safe_psql('postgres', 'ALTER SYSTEM SET flowcontrol.enabled = on');
$node->reload;
wait_for_worker($node, 'postgres', 1, 'idle');
my ($stuck, $behind) = split /\n/, $node->safe_psql('postgres', qq{
SELECT id FROM flowcontrol.create_flowrun((SELECT id FROM flowcontrol.flow WHERE name = 'session'));
SELECT id FROM flowcontrol.create_flowrun($flow);
});
$node->poll_query_until('postgres', qq{
SELECT count(*) = 2 FROM flowcontrol.flow_run WHERE id IN ($stuck, $behind) AND status = 'done'})
  or die 'runs not done';
like($node->safe_psql('postgres', "SELECT outcome || ': ' || log FROM flowcontrol.flow_run WHERE id = $stuck"),
	qr/^errored: .*Given up after 3 attempts, each ended by a transient error; the last: 40001: could not serialize/,
	'the always failing run ends errored after three attempts, saying why');
is($node->safe_psql('postgres', "SELECT outcome FROM flowcontrol.flow_run WHERE id = $behind"),
	'complete', 'and the run behind it completes');

$a->quit;
$b->quit;
$node->stop;
done_testing();
