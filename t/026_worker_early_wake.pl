# The early wake-up: a transaction that makes a run due now wakes an idle
# worker at PRE_COMMIT, and the worker waits for that transaction to end
# before it looks (src/worker.c).  Played here: the usual path executes
# runs, often before the creating COMMIT has returned to its client; a
# committer that fails after PRE_COMMIT (a serialization failure at commit)
# leaves nothing executed and the worker healthy; a committer waiting for
# synchronous replication does not hold the worker (no early wake-up then),
# so other sessions' runs go on being executed meanwhile; a transaction
# that creates a run and drops the extension leaves the worker waiting for
# the extension, without an error.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

# synchronous_commit = local for all but the session that asks for more (the
# worker's own commits must not wait for the standby that never comes)
my $node = new_node('early', 'flowcontrol.max_workers' => 1, allows_streaming => 1,
	synchronous_commit => 'local');
setup_db($node, 'postgres');
my $flow = $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "one", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "x"}}]}')});
wait_for_worker($node, 'postgres', 1, 'idle');

sub executed
{
	my ($run) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM exec_log WHERE run_id = $run");
}

sub wait_executed
{
	my ($run) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM exec_log WHERE run_id = $run")
	  or die "run $run was not executed";
	return;
}

# --- the usual path: runs created one per transaction are executed; the
# action's clock against the end of the creating COMMIT (negative: the
# worker ran it before the COMMIT had returned to its client)
$node->safe_psql('postgres', q{
CREATE TABLE commit_end (run_id bigint PRIMARY KEY, at timestamptz)});
$node->safe_psql('postgres', qq{
DO \$\$
DECLARE r flowcontrol.flow_run;
BEGIN
	FOR i IN 1 .. 50 LOOP
		r := flowcontrol.create_flowrun($flow);
		COMMIT;
		INSERT INTO commit_end VALUES (r.id, clock_timestamp());
		COMMIT;
		PERFORM pg_sleep(0.005);
	END LOOP;
END \$\$});
$node->poll_query_until('postgres', q{
SELECT count(*) = 50 FROM exec_log e JOIN commit_end c USING (run_id)})
  or die 'the 50 runs were not executed';
my ($p50, $early) = split /\|/, $node->safe_psql('postgres', q{
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3),
	   count(*) FILTER (WHERE ms < 0)
FROM (SELECT extract(epoch FROM e.at - c.at) * 1000 AS ms
	  FROM exec_log e JOIN commit_end c USING (run_id)) s});
note("end of COMMIT -> execution: p50 $p50 ms; $early of 50 before the COMMIT returned");
pass('runs created one per transaction are executed');

# --- a committer that fails after PRE_COMMIT: a serialization failure at
# commit (write skew, the second to commit is the pivot)
$node->safe_psql('postgres', q{
CREATE TABLE on_call (doctor int PRIMARY KEY, on_call bool NOT NULL);
INSERT INTO on_call VALUES (1, true), (2, true)});
my $a = $node->background_psql('postgres', on_error_stop => 0);
my $b = $node->background_psql('postgres');
$a->query_safe('BEGIN ISOLATION LEVEL SERIALIZABLE');
$b->query_safe('BEGIN ISOLATION LEVEL SERIALIZABLE');
$a->query_safe('SELECT count(*) FROM on_call WHERE on_call');
$b->query_safe('SELECT count(*) FROM on_call WHERE on_call');
$a->query_safe('UPDATE on_call SET on_call = false WHERE doctor = 1');
my $doomed = $a->query_safe("SELECT (flowcontrol.create_flowrun($flow)).id");
$doomed =~ s/\s+//g;
$b->query_safe('UPDATE on_call SET on_call = false WHERE doctor = 2');
$b->query_safe('COMMIT');
my ($out, $ret) = $a->query('COMMIT');
like($a->{stderr}, qr/could not serialize access/,
	'the COMMIT of the transaction that created the run fails at commit');
$a->quit;
$b->quit;
is($node->safe_psql('postgres',
		"SELECT count(*) FROM flowcontrol.flow_run WHERE id = $doomed"),
	'0', 'its run was rolled back');
my $next = $node->safe_psql('postgres',
	"SELECT (flowcontrol.create_flowrun($flow)).id");
wait_executed($next);
is(executed($doomed), '0', 'the rolled-back run was never executed');
is($node->safe_psql('postgres',
		'SELECT errors FROM flowcontrol.workers WHERE worker = 1'),
	'0', 'the worker counted no error');

# --- a committer waiting for a synchronous standby that does not exist:
# its run stays invisible, and the worker, not woken early for it, goes on
# executing the runs of other sessions
$node->append_conf('postgresql.conf', "synchronous_standby_names = 'nobody'");
$node->reload;
my $c = $node->background_psql('postgres', on_error_stop => 0);
$c->query_safe('SET synchronous_commit = on');
$c->query_safe('BEGIN');
my $held = $c->query_safe("SELECT (flowcontrol.create_flowrun($flow)).id");
$held =~ s/\s+//g;
$c->query_until(qr/committing/, "\\echo committing\nCOMMIT;\n");
$node->poll_query_until('postgres', q{
SELECT EXISTS (SELECT FROM pg_stat_activity
	WHERE wait_event = 'SyncRep' AND query ~ '^COMMIT')})
  or die 'the COMMIT is not waiting for the standby';
my @others;
for (1 .. 3)
{
	my $r = $node->safe_psql('postgres',
		"SELECT (flowcontrol.create_flowrun($flow)).id");
	push @others, $r;
	wait_executed($r);
}
pass('runs of other sessions are executed while a COMMIT waits for a synchronous standby');
is(executed($held), '0', 'the run of the waiting COMMIT is not executed yet');
# cancelling the wait leaves the transaction committed locally
$node->safe_psql('postgres', q{
SELECT pg_cancel_backend(pid) FROM pg_stat_activity
WHERE wait_event = 'SyncRep' AND query ~ '^COMMIT'});
$c->quit;
$node->append_conf('postgresql.conf', "synchronous_standby_names = ''");
$node->reload;
$node->safe_psql('postgres', "SELECT flowcontrol.create_flowrun($flow)");
wait_executed($held);
pass('then it is');

# --- a lock_timeout the worker runs with does not apply to its wait for
# the committer: a commit made slow after PRE_COMMIT (commit_delay before
# the WAL flush, which needs fsync) costs the worker no error
$node->safe_psql('postgres', q{
ALTER SYSTEM SET lock_timeout = '1ms';
ALTER SYSTEM SET fsync = on;
SELECT pg_reload_conf()});
$node->poll_query_until('postgres', q{
SELECT current_setting('lock_timeout') = '1ms'}) or die 'lock_timeout not set';
wait_for_worker($node, 'postgres', 1, 'idle');
my $errors = $node->safe_psql('postgres',
	'SELECT errors FROM flowcontrol.workers WHERE worker = 1');
my @slow;
for (1 .. 3)
{
	push @slow, $node->safe_psql('postgres', qq{
SET commit_delay = 30000;
SET commit_siblings = 0;
SELECT (flowcontrol.create_flowrun($flow)).id});
	wait_executed($slow[-1]);
	wait_for_worker($node, 'postgres', 1, 'idle');
}
is($node->safe_psql('postgres',
		'SELECT errors FROM flowcontrol.workers WHERE worker = 1'),
	$errors, 'a slow commit costs a worker running with lock_timeout no error');
$node->safe_psql('postgres', q{
ALTER SYSTEM RESET lock_timeout;
ALTER SYSTEM RESET fsync;
SELECT pg_reload_conf()});

# --- a transaction that creates a run and drops the extension: the worker
# woken early must see the drop (its caches take the transaction's
# invalidations after the wait) and wait for the extension, not fail
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION flowcontrol');
wait_for_worker($node, 'postgres', 1, 'idle');
$node->safe_psql('postgres', qq{
BEGIN;
SELECT flowcontrol.create_flowrun($flow);
DROP EXTENSION flowcontrol CASCADE;
COMMIT});
$node->poll_query_until('other', q{
SELECT state = 'waiting for extension' FROM flowcontrol.workers WHERE worker = 1})
  or die 'the worker does not wait for the extension';
is($node->safe_psql('other',
		'SELECT errors FROM flowcontrol.workers WHERE worker = 1'),
	'0', 'a run created in the transaction that dropped the extension costs the worker no error');

$node->stop;
done_testing();
