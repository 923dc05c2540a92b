# The background worker executes runs by itself: waits for its database and
# the extension, runs a flow started by a table trigger through a Delay and
# a wait-for-trigger, pauses and resumes with flowcontrol.enabled, exits on
# SIGTERM and is restarted, survives an error in its own loop, and lets
# DROP DATABASE of its database through.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FcWorker;

my $node = new_node('main', 'flowcontrol.database' => "'flowdb'");
$node->safe_psql('postgres', 'CREATE EXTENSION flowcontrol');

# --- the database does not exist yet: the launcher waits, once logged
$node->poll_query_until('postgres',
	"SELECT state = 'waiting for database' FROM flowcontrol.workers WHERE worker = 0")
  or die 'launcher not waiting for its database';
ok($node->log_contains('flowcontrol launcher: database "flowdb" does not exist; waiting'),
	'launcher logs that it waits for the database');

# --- then the extension is missing: the worker waits
$node->safe_psql('postgres', 'CREATE DATABASE flowdb');
$node->wait_for_log('extension "flowcontrol" is not installed in database "flowdb"; waiting');
pass('worker waits for the extension');

# --- a flow driven by a table trigger: a, Delay 1 s, b, wait for "paid", c
setup_db($node, 'flowdb');
my $flow = $node->safe_psql('flowdb', q{
CREATE TABLE orders (id int PRIMARY KEY, paid bool NOT NULL DEFAULT false);
SELECT flowcontrol.attach_trigger('orders', 'order_created', '{INSERT}');
SELECT flowcontrol.register_trigger('order_paid', 'orders');
SELECT flowcontrol.define_flow('{
	"name": "order", "active": true, "object_table": "public.orders",
	"actions": [
		{"action": "LogStep", "config": {"step": "a"}},
		{"action": "DelayAction", "config": {"seconds": 1}},
		{"action": "LogStep", "config": {"step": "b"}}],
	"triggers": [
		{"trigger_name": "order_created"},
		{"trigger_name": "order_paid", "create_flow": false}]}');
});
$node->safe_psql('flowdb', qq{
SELECT flowcontrol.add_action($flow, 'WaitForTriggerAction',
	jsonb_build_object('trigger', (SELECT id FROM flowcontrol.trigger WHERE trigger_name = 'order_paid')));
SELECT flowcontrol.add_action($flow, 'LogStep', '{"step": "c"}');
});

$node->safe_psql('flowdb', 'INSERT INTO orders VALUES (1)');
$node->poll_query_until('flowdb',
	"SELECT count(*) = 2 FROM exec_log WHERE step IN ('a', 'b')")
  or die 'steps a and b not executed';
my $delay = $node->safe_psql('flowdb', q{
SELECT b.at >= a.xact_at + interval '1 s' FROM exec_log a, exec_log b WHERE a.step = 'a' AND b.step = 'b'});
is($delay, 't', 'an INSERT started the run and its Delay of 1 s resumed by itself');
$node->poll_query_until('flowdb', q{
SELECT status = 'waiting' AND waiting_trigger_id IS NOT NULL FROM flowcontrol.flow_run})
  or die 'run not waiting for its trigger';
is($node->safe_psql('flowdb', "SELECT count(*) FROM exec_log WHERE step = 'c'"),
	'0', 'the run waits for its trigger');

$node->safe_psql('flowdb',
	"SELECT count(*) FROM flowcontrol.trigger_flows('order_paid', 'orders', '1')");
$node->poll_query_until('flowdb',
	"SELECT status = 'done' AND outcome = 'complete' FROM flowcontrol.flow_run")
  or die 'run not completed after trigger_flows';
is($node->safe_psql('flowdb', 'SELECT string_agg(step, \',\' ORDER BY at) FROM exec_log'),
	'a,b,c', 'trigger_flows resumed the waiting run, which completed');
my $wpid = worker_pid($node, 'flowdb', 1);
is($node->safe_psql('flowdb', 'SELECT count(*) FROM exec_log WHERE pid <> ' . $wpid),
	'0', 'every step ran in the worker');
ok($node->safe_psql('flowdb', 'SELECT runs_executed >= 3 FROM flowcontrol.workers WHERE worker = 1') eq 't',
	'flowcontrol.workers counts the executions');
is($node->safe_psql('flowdb',
	"SELECT backend_type FROM pg_stat_activity WHERE pid = $wpid"),
	'flowcontrol worker', 'the worker shows in pg_stat_activity');

# --- flowcontrol.enabled = off pauses; on resumes
$node->safe_psql('flowdb', 'ALTER SYSTEM SET flowcontrol.enabled = off');
$node->reload;
wait_for_worker($node, 'flowdb', 1, 'disabled');
my $t0 = $node->safe_psql('flowdb', 'INSERT INTO orders VALUES (2); SELECT clock_timestamp()');
# another SIGHUP wakes the worker after that commit: it must stay paused
$node->reload;
$node->poll_query_until('flowdb',
	"SELECT last_wakeup > '$t0' AND state = 'disabled' FROM flowcontrol.workers WHERE worker = 1")
  or die 'disabled worker did not wake';
is($node->safe_psql('flowdb', 'SELECT status FROM flowcontrol.flow_run WHERE object_id = \'2\''),
	'pending', 'a disabled worker leaves runnable runs alone');
$node->safe_psql('flowdb', 'ALTER SYSTEM SET flowcontrol.enabled = on');
$node->reload;
$node->poll_query_until('flowdb', q{
SELECT EXISTS (SELECT FROM exec_log l JOIN flowcontrol.flow_run r ON r.id = l.run_id
			   WHERE r.object_id = '2' AND l.step = 'a')})
  or die 'run not executed after enabling';
pass('enabled = on resumes');

# --- an ERROR in the worker's own loop (here: a query cancel while a run
# waits for a lock) is logged and counted; the worker goes on
my $locker = $node->background_psql('flowdb');
$locker->query_safe('SELECT pg_advisory_lock(77)');
my $slow = $node->safe_psql('flowdb', q{
SELECT flowcontrol.define_flow('{"name": "slow", "active": true,
	"actions": [{"action": "WaitLock", "config": {"key": 77}},
				{"action": "LogStep", "config": {"step": "slow"}}]}')});
$node->safe_psql('flowdb', "SELECT id FROM flowcontrol.create_flowrun($slow)");
$node->poll_query_until('flowdb', qq{
SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $wpid AND locktype = 'advisory' AND NOT granted)})
  or die 'worker not waiting for the lock';
$node->safe_psql('flowdb', "SELECT pg_cancel_backend($wpid)");
$node->poll_query_until('flowdb', q{
SELECT errors = 1 AND last_error LIKE 'canceling statement%' FROM flowcontrol.workers WHERE worker = 1})
  or die 'error not counted';
$locker->query_safe('SELECT pg_advisory_unlock(77)');
$node->poll_query_until('flowdb', "SELECT EXISTS (SELECT FROM exec_log WHERE step = 'slow')")
  or die 'run not executed after the error';
is($node->safe_psql('flowdb', 'SELECT pid FROM flowcontrol.workers WHERE worker = 1'),
	$wpid, 'the same worker process executed the run after the error');
$locker->quit;

# --- SIGTERM: prompt exit, and the launcher starts a new worker
$node->safe_psql('flowdb', "SELECT pg_terminate_backend($wpid)");
$node->poll_query_until('flowdb', qq{
SELECT pid <> $wpid AND state = 'idle' FROM flowcontrol.workers WHERE worker = 1})
  or die 'worker not restarted';
pass('a terminated worker is restarted');
$node->safe_psql('flowdb', 'INSERT INTO orders VALUES (3)');
$node->poll_query_until('flowdb', q{
SELECT EXISTS (SELECT FROM exec_log l JOIN flowcontrol.flow_run r ON r.id = l.run_id
			   WHERE r.object_id = '3' AND l.step = 'a')})
  or die 'restarted worker does not execute';
pass('the new worker executes runs');

# --- DROP DATABASE of the worker's database goes through (PostgreSQL would
# otherwise wait 5 s and fail with "being accessed by other users")
my $start = time();
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE flowdb');
is($ret, 0, 'DROP DATABASE of the workers\' database succeeds') or diag($err);
cmp_ok(time() - $start, '<', 5, 'DROP DATABASE does not wait for the worker');
$node->poll_query_until('postgres',
	"SELECT state = 'waiting for database' FROM flowcontrol.workers WHERE worker = 0")
  or die 'launcher not waiting after the drop';
is($node->safe_psql('postgres', 'SELECT count(*) FROM flowcontrol.workers WHERE worker > 0'),
	'0', 'no worker while the database is missing');
$node->safe_psql('postgres', 'CREATE DATABASE flowdb');
$node->poll_query_until('postgres',
	"SELECT state = 'waiting for extension' FROM flowcontrol.workers WHERE worker = 1")
  or die 'worker not back after CREATE DATABASE';
pass('the worker comes back when the database is created again');

$node->stop;

# --- without preloading: no shared memory, no worker; wake-ups are no-ops
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
setup_db($plain, 'postgres');
$plain->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "one", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "a"}}]}');
BEGIN;
SELECT id FROM flowcontrol.create_flowrun(1);
COMMIT;
});
is($plain->safe_psql('postgres', 'SELECT count(*) FROM flowcontrol.workers'),
	'0', 'without preloading flowcontrol.workers is empty');
is($plain->safe_psql('postgres', 'SELECT flowcontrol.continue_flowruns()'),
	'1', 'without preloading continue_flowruns() executes the run the commit left pending');
$plain->stop;

done_testing();
