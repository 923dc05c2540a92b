# Time limits and retries through the background worker:
# - an action that sleeps beyond its "timeout" ends its run errored with
#   a log line saying so, and a quick run behind it executes;
# - the owner's statement_timeout (ALTER ROLE ... SET) bounds its actions
#   in the worker, which arms no statement timer of its own;
# - a flaky action with a retry policy succeeds on its third attempt, and
#   the gaps between the attempts follow initial_interval and
#   backoff_coefficient (measured, with room for a loaded machine);
# - pg_cancel_backend() of the worker during such an action is not caught:
#   no attempt is counted, and the run is executed again.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $node = new_node('timeouts');
setup_db($node, 'postgres');
worker_pid($node, 'postgres', 1);

$node->safe_psql('postgres', q{
CREATE FUNCTION sleeper(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO exec_log (run_id, step) VALUES (run.id, 'slept');
	PERFORM pg_sleep((config->>'seconds')::float8);
	RETURN 'continue';
END $$;
-- fails on its first two attempts; each failure's message carries its time,
-- which the run's log keeps (the failed attempt's writes are rolled back)
CREATE FUNCTION flaky(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	IF run.attempt < 2 THEN
		RAISE EXCEPTION 'attempt % at %', run.attempt + 1,
			extract(epoch FROM clock_timestamp());
	END IF;
	INSERT INTO exec_log (run_id, step) VALUES (run.id, 'attempt 3 at ' || extract(epoch FROM clock_timestamp()));
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('Sleeper', 'sleeper(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('Flaky', 'flaky(flowcontrol.flow_run,jsonb,jsonb)');
CREATE ROLE alice;
GRANT INSERT ON exec_log TO alice;
});

# --- an action's timeout, with a quick run behind it
my $slow = $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "slow", "active": true, "actions": [
	{"action": "Sleeper", "config": {"seconds": 600}, "timeout": 1}]}')});
my $quick = $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "quick", "active": true, "actions": [
	{"action": "LogStep", "config": {"step": "quick"}}]}')});
my ($slow_run, $quick_run) = split /\n/, $node->safe_psql('postgres', qq{
BEGIN;
SELECT id FROM flowcontrol.create_flowrun($slow);
SELECT id FROM flowcontrol.create_flowrun($quick);
COMMIT;});
$node->poll_query_until('postgres', qq{
SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $quick_run})
  or die 'the quick run behind the slow one was not executed';
is( $node->safe_psql('postgres', qq{
SELECT outcome || ' ' || (log ~ 'Action Sleeper \\(\\d+\\) failed: 57014: timed out after 1 s')
	|| ' ' || (log ~ E'DETAIL:  The limit is the action''s "timeout"\\.')
FROM flowcontrol.flow_run WHERE id = $slow_run}),
	'errored true true', 'the slow run ended errored, its log saying it timed out');
is( $node->safe_psql('postgres', qq{
SELECT count(*) FROM exec_log WHERE run_id = $slow_run}),
	'0', 'the timed-out action\'s writes were rolled back');
is($node->safe_psql('postgres', 'SELECT errors FROM flowcontrol.workers WHERE worker = 1'),
	'0', 'a timeout is the run\'s failure, not the worker\'s error');

# --- the owner's statement_timeout, in the worker
$node->safe_psql('postgres', q{ALTER ROLE alice SET statement_timeout = '1s'});
my $owned = $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "alice sleeps", "active": true, "actions": [
	{"action": "Sleeper", "config": {"seconds": 600}}]}')});
$node->safe_psql('postgres', qq{UPDATE flowcontrol.flow SET owner = 'alice' WHERE id = $owned});
my $owned_run = $node->safe_psql('postgres', "SELECT id FROM flowcontrol.create_flowrun($owned)");
$node->poll_query_until('postgres', qq{
SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $owned_run})
  or die 'the run of alice\'s flow did not end';
like( $node->safe_psql('postgres', qq{
SELECT outcome || ': ' || log FROM flowcontrol.flow_run WHERE id = $owned_run}),
	qr/^errored: .*timed out after 1 s\n.*statement_timeout as a new session of role "alice"/s,
	'alice\'s statement_timeout ended her action in the worker');

# --- a flaky action that succeeds on its third attempt
my $flaky = $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "flaky", "active": true, "actions": [
	{"action": "Flaky", "retry": {"max_attempts": 3, "initial_interval": 1, "backoff_coefficient": 2}}]}')});
my $flaky_run = $node->safe_psql('postgres', "SELECT id FROM flowcontrol.create_flowrun($flaky)");
$node->poll_query_until('postgres', qq{
SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $flaky_run})
  or die 'the flaky run did not end';
is( $node->safe_psql('postgres', qq{
SELECT outcome || ' ' || attempt FROM flowcontrol.flow_run WHERE id = $flaky_run}),
	'complete 0', 'the flaky run completed on its third attempt, attempt back to 0');
my @times = (
	$node->safe_psql('postgres', qq{
SELECT string_agg(m[1], ' ' ORDER BY m[1]) FROM flowcontrol.flow_run,
	regexp_matches(log, 'attempt \\d+ at ([0-9.]+)', 'g') AS m WHERE id = $flaky_run}) =~ /([0-9.]+)/g,
	$node->safe_psql('postgres', qq{
SELECT substring(step FROM 'attempt 3 at ([0-9.]+)') FROM exec_log WHERE run_id = $flaky_run}));
is(scalar @times, 3, 'three attempts, with their times');
my $gap1 = $times[1] - $times[0];
my $gap2 = $times[2] - $times[1];
note sprintf('gaps between attempts: %.3f s, %.3f s', $gap1, $gap2);
# Each retry is due initial_interval * 2 ^ (failures - 1) after the unit of
# work that failed began, so a gap may fall short of it by that unit's
# duration before the action ran (milliseconds); it may exceed it by the
# worker's lateness, which is large only on a loaded machine.
cmp_ok($gap1, '>', 0.9, 'first retry waited about initial_interval (1 s)');
cmp_ok($gap2, '>', 1.9, 'second retry waited about twice as long (2 s)');
cmp_ok($gap1, '<', 10, 'first retry not late beyond load');
cmp_ok($gap2, '<', 20, 'second retry not late beyond load');
cmp_ok($gap2, '>', $gap1 * 1.3, 'the second wait is longer than the first');

# --- a real cancel of the worker is neither a timeout nor an attempt
$node->safe_psql('postgres', q{
CREATE TABLE hold (k int);
INSERT INTO hold VALUES (1);
CREATE FUNCTION held(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	WHILE EXISTS (SELECT FROM hold) LOOP
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('Held', 'held(flowcontrol.flow_run,jsonb,jsonb)');
});
my $errors_before = $node->safe_psql('postgres',
	'SELECT errors FROM flowcontrol.workers WHERE worker = 1');
my $held = $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "held", "active": true, "actions": [
	{"action": "Held", "timeout": 300, "retry": {"max_attempts": 5}}]}')});
my $held_run = $node->safe_psql('postgres', "SELECT id FROM flowcontrol.create_flowrun($held)");
$node->poll_query_until('postgres', q{
SELECT EXISTS (SELECT FROM pg_stat_activity a JOIN flowcontrol.workers w USING (pid)
			   WHERE a.wait_event = 'PgSleep')})
  or die 'the worker did not start the held action';
$node->safe_psql('postgres',
	'SELECT pg_cancel_backend(pid) FROM flowcontrol.workers WHERE worker = 1');
$node->poll_query_until('postgres',
	"SELECT errors > $errors_before FROM flowcontrol.workers WHERE worker = 1")
  or die 'the cancel was not counted as the worker\'s error';
is( $node->safe_psql('postgres', qq{
SELECT status || ' ' || attempt || ' [' || log || ']' FROM flowcontrol.flow_run WHERE id = $held_run}),
	'pending 0 []', 'a cancel rolled the run back: no attempt counted, nothing logged');
$node->safe_psql('postgres', 'DELETE FROM hold');
$node->poll_query_until('postgres', qq{
SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $held_run})
  or die 'the held run did not end';
is( $node->safe_psql('postgres', qq{
SELECT outcome || ' ' || attempt || ' [' || log || ']' FROM flowcontrol.flow_run WHERE id = $held_run}),
	'complete 0 []', 'executed again after the cancel, the run completed');

$node->stop;
done_testing();
