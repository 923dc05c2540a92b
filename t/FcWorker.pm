# FcWorker.pm: shared set-up for the background worker's TAP tests.
#
# new_node() starts a server with flowcontrol preloaded.  poll_interval is
# ten minutes unless a test says otherwise, longer than poll_query_until's
# timeout: a test that passes shows that the worker was woken by commits and
# by its own timer for continue_after, never by polling.
package FcWorker;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Exporter 'import';
our @EXPORT = qw(new_node setup_db worker_pid wait_for_worker);

sub new_node
{
	my ($name, %conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => delete $conf{allows_streaming});
	my %settings = (
		shared_preload_libraries => "'flowcontrol'",
		'flowcontrol.database' => "'postgres'",
		'flowcontrol.poll_interval' => "'10min'",
		%conf);
	$node->append_conf('postgresql.conf',
		join('', map { "$_ = $settings{$_}\n" } sort keys %settings));
	$node->start;
	return $node;
}

# The extension, a log table with one row per executed step (its primary key
# makes a step executed twice fail its run), and the user actions:
#   LogStep {"step": s}   records the step
#   Suspend               suspends once (committing what came before)
#   WaitLock {"key": k}   waits for a shared advisory lock held by the test
#   Sleep {"seconds": s}  sleeps (pg_sleep), then continues
sub setup_db
{
	my ($node, $db) = @_;
	$node->safe_psql($db, q{
CREATE EXTENSION flowcontrol;
CREATE TABLE exec_log (
	run_id bigint,
	step text,
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	xact_at timestamptz NOT NULL DEFAULT now(),
	pid integer NOT NULL DEFAULT pg_backend_pid(),
	PRIMARY KEY (run_id, step));
CREATE FUNCTION log_step(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO exec_log (run_id, step) VALUES (run.id, config->>'step');
	RETURN 'continue';
END $$;
CREATE FUNCTION suspend_once(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'suspend'::flowcontrol.directive $$;
CREATE FUNCTION sleep_action(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_sleep((config->>'seconds')::float8);
	RETURN 'continue';
END $$;
CREATE FUNCTION wait_lock(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock_shared((config->>'key')::bigint);
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('LogStep', 'log_step(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('Suspend', 'suspend_once(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('WaitLock', 'wait_lock(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('Sleep', 'sleep_action(flowcontrol.flow_run,jsonb,jsonb)');
});
	return;
}

# pid of worker n (1-based) as flowcontrol.workers shows it, once it is idle
sub worker_pid
{
	my ($node, $db, $n) = @_;
	wait_for_worker($node, $db, $n, 'idle');
	return $node->safe_psql($db,
		"SELECT pid FROM flowcontrol.workers WHERE worker = $n");
}

sub wait_for_worker
{
	my ($node, $db, $n, $state) = @_;
	$node->poll_query_until($db,
		"SELECT state = '$state' FROM flowcontrol.workers WHERE worker = $n")
	  or die "worker $n did not reach state \"$state\"";
	return;
}

1;
