# flowcontrol.time_offset is a session's test clock: the background worker
# runs on real time even when the offset is set for it by ALTER SYSTEM,
# ALTER DATABASE and ALTER ROLE, or by an action's own set_config().  A run
# delayed by 3 days is not executed by the worker, while a session that
# moves its clock by 3 days can execute it.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $node = new_node('time_offset');
setup_db($node, 'postgres');
$node->safe_psql('postgres', q{
ALTER SYSTEM SET flowcontrol.time_offset = '3 days';
ALTER DATABASE postgres SET flowcontrol.time_offset = '3 days';
ALTER ROLE CURRENT_USER SET flowcontrol.time_offset = '3 days';
CREATE FUNCTION set_clock(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('flowcontrol.time_offset', config->>'offset', false);
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('SetClock', 'set_clock(flowcontrol.flow_run,jsonb,jsonb)');
});
# the worker starts with all three in force
$node->restart;
my $wpid = worker_pid($node, 'postgres', 1);
is($node->safe_psql('postgres', 'SHOW flowcontrol.time_offset'),
	'3 days', 'sessions get the offset from ALTER SYSTEM, DATABASE and ROLE');

my ($later, $self_set, $marker) = split /\n/, $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "later", "active": true, "actions": [
	{"action": "DelayAction", "config": {"seconds": 259200}},
	{"action": "LogStep", "config": {"step": "after"}}]}');
SELECT flowcontrol.define_flow('{"name": "self set", "active": true, "actions": [
	{"action": "SetClock", "config": {"offset": "3 days"}},
	{"action": "DelayAction", "config": {"seconds": 259200}}]}');
SELECT flowcontrol.define_flow('{"name": "marker", "active": true, "actions": [
	{"action": "LogStep", "config": {"step": "marker"}}]}');
});

# a run delayed by 3 days on real time, by a session
my $run = $node->safe_psql('postgres', qq{
SET flowcontrol.time_offset = 0;
SELECT id FROM flowcontrol.start_flowrun($later)
WHERE continue_after = pg_catalog.now() + interval '3 days';
});
like($run, qr/^\d+$/, 'a session on real time delays a run by 3 days');

# the worker executes a Delay from its real now
my $wrun = $node->safe_psql('postgres', qq{
SET flowcontrol.time_offset = 0;
SELECT id FROM flowcontrol.create_flowrun($later);
});
$node->poll_query_until('postgres',
	"SELECT status = 'waiting' FROM flowcontrol.flow_run WHERE id = $wrun")
  or die 'the worker did not execute the Delay';
is($node->safe_psql('postgres', qq{
SELECT continue_after >= created_at + interval '3 days'
   AND continue_after < pg_catalog.now() + interval '3 days 1 minute'
FROM flowcontrol.flow_run WHERE id = $wrun}),
	't', "the worker's Delay counts 3 days from the real now");

# an action that sets the offset in the worker does not move its clock either
my $self_run = $node->safe_psql('postgres', qq{
SET flowcontrol.time_offset = 0;
SELECT id FROM flowcontrol.create_flowrun($self_set);
});
$node->poll_query_until('postgres',
	"SELECT status = 'waiting' FROM flowcontrol.flow_run WHERE id = $self_run")
  or die 'the worker did not execute the run that sets the clock';
is($node->safe_psql('postgres', qq{
SELECT continue_after < pg_catalog.now() + interval '3 days 1 minute'
FROM flowcontrol.flow_run WHERE id = $self_run}),
	't', "an action's set_config() does not move the worker's clock");

# a pending run makes the worker claim what is runnable: the delayed run
# would be claimed with it if the worker honoured the offset
my $marker_run = $node->safe_psql('postgres',
	"SELECT id FROM flowcontrol.create_flowrun($marker)");
$node->poll_query_until('postgres',
	"SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $marker_run")
  or die 'the worker did not execute the marker run';
is($node->safe_psql('postgres', "SELECT pid FROM exec_log WHERE step = 'marker'"),
	$wpid, 'the worker executed the marker run');
is($node->safe_psql('postgres', qq{
SELECT status || ',' || (SELECT count(*) FROM exec_log WHERE step = 'after')
FROM flowcontrol.flow_run WHERE id = $run}),
	'waiting,0', 'the worker left the run delayed by 3 days alone');

# a session three days later executes it
my ($status, $spid) = split /\n/, $node->safe_psql('postgres', qq{
SET flowcontrol.time_offset = '3 days';
SELECT status FROM flowcontrol.execute_flowrun($run);
SELECT pg_backend_pid();
});
is($status, 'done', 'a session with the offset executes the delayed run');
is($node->safe_psql('postgres', "SELECT pid FROM exec_log WHERE step = 'after'"),
	$spid, 'in that session');

$node->stop;
done_testing();
