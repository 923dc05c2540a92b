# DROP EXTENSION flowcontrol while the workers are busy (issue 13, part 5).
#
# DROP EXTENSION takes each of the extension's objects' locks in turn while
# a worker's unit of work holds some of them and asks for others: the two
# can deadlock, and then PostgreSQL cancels one of them (the DROP, a
# worker's unit, or both, whichever detects it).  The test records what
# happened and checks that nothing is lost or done twice either way; then
# it checks the documented way: flowcontrol.enabled = off, wait until the
# workers show "disabled", drop.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
use FcWorker;

my $nruns = 3000;
my $node = new_node('drop_extension', 'flowcontrol.max_workers' => 2);

sub setup_busy
{
	setup_db($node, 'postgres');
	return $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "busy", "active": true,
	"actions": [{"action": "Sleep", "config": {"seconds": 0.002}},
				{"action": "LogStep", "config": {"step": "once"}}]}')});
}

# both workers logged, after $offset in the server log, that they wait for
# the extension (flowcontrol.workers went with it)
sub wait_for_no_extension
{
	my ($offset) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (time < $deadline)
	{
		my @lines = slurp_file($node->logfile, $offset) =~
		  /extension "flowcontrol" is not installed in database "postgres"; waiting/g;
		return 1 if @lines >= 2;
		sleep 0.1;
	}
	return 0;
}

sub drop_all
{
	my ($stderr) = @_;
	return $node->psql('postgres', q{
BEGIN;
DROP EXTENSION flowcontrol CASCADE;
DROP TABLE exec_log;
COMMIT;}, stderr => $stderr, on_error_stop => 1);
}

# 1. Under load.
my $flow = setup_busy();
worker_pid($node, 'postgres', $_) for 1 .. 2;
$node->safe_psql('postgres',
	"SELECT count(flowcontrol.create_flowrun($flow)) FROM generate_series(1, $nruns)");
$node->poll_query_until('postgres',
	"SELECT count(*) >= 100 FROM exec_log")
  or die 'workers not busy';
my $stderr;
my $offset = -s $node->logfile;
my $rc = drop_all(\$stderr);
note "DROP EXTENSION under load: "
  . ($rc == 0 ? 'succeeded' : "failed: $stderr");
ok($rc == 0 || $stderr =~ /deadlock detected/,
	'DROP EXTENSION under load succeeds or fails with "deadlock detected"');
if ($rc == 0)
{
	ok(wait_for_no_extension($offset),
		'the workers wait for the extension to come back');
}
else
{
	$node->poll_query_until('postgres',
		"SELECT count(*) = $nruns FROM flowcontrol.flow_run WHERE status = 'done'")
	  or die 'runs not drained after the failed DROP';
	is($node->safe_psql('postgres',
		'SELECT count(*), count(DISTINCT run_id) FROM exec_log'),
		"$nruns|$nruns", 'after the failed DROP every run is executed, once');
	$node->poll_query_until('postgres', q{
SELECT bool_and(state = 'idle') FROM flowcontrol.workers WHERE worker > 0})
	  or die 'workers not idle';
	drop_all(undef) == 0 or die 'DROP EXTENSION failed on idle workers';
}

# 2. The documented way: pause the workers first.
$flow = setup_busy();
$node->poll_query_until('postgres', q{
SELECT bool_and(state = 'idle') FROM flowcontrol.workers WHERE worker > 0})
  or die 'workers not idle after CREATE EXTENSION';
$node->safe_psql('postgres',
	"SELECT count(flowcontrol.create_flowrun($flow)) FROM generate_series(1, $nruns)");
$node->poll_query_until('postgres', "SELECT count(*) >= 100 FROM exec_log")
  or die 'workers not busy';
my $errors = $node->safe_psql('postgres',
	'SELECT sum(errors) FROM flowcontrol.workers WHERE worker > 0');
$node->safe_psql('postgres', q{
ALTER SYSTEM SET flowcontrol.enabled = off;
SELECT pg_reload_conf();});
$node->poll_query_until('postgres', q{
SELECT bool_and(state = 'disabled') FROM flowcontrol.workers WHERE worker > 0})
  or die 'workers not disabled';
is(drop_all(\$stderr), 0, 'with the workers disabled, DROP EXTENSION succeeds');
$offset = -s $node->logfile;
$node->safe_psql('postgres', q{
ALTER SYSTEM RESET flowcontrol.enabled;
SELECT pg_reload_conf();});
ok(wait_for_no_extension($offset),
	'enabled again, the workers wait for the extension');

# and back
$flow = setup_busy();
$node->safe_psql('postgres', "SELECT flowcontrol.create_flowrun($flow)");
$node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM exec_log')
  or die 'run not executed after CREATE EXTENSION';
pass('after CREATE EXTENSION the workers execute runs again');
is($node->safe_psql('postgres',
	'SELECT sum(errors) FROM flowcontrol.workers WHERE worker > 0'),
	$errors, 'no worker error since they were disabled');

$node->stop;
done_testing();
