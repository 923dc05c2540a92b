# Two workers and two sessions calling continue_flowruns() drain 20,000
# runs together, and every run is executed exactly once.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $nruns = 20000;
my $node = new_node('load', 'flowcontrol.max_workers' => 2,
	'flowcontrol.batch_size' => 50);
setup_db($node, 'postgres');
my $flow = $node->safe_psql('postgres', q{
CREATE TABLE drained (who text, runs int);
SELECT flowcontrol.define_flow('{"name": "two steps", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "once"}},
				{"action": "UpdateStateAction", "config": {"state": {"done": true}}}]}')});
worker_pid($node, 'postgres', $_) for 1 .. 2;

# the runs are created in one transaction; its commit wakes a worker, and
# the sessions start at once
$node->safe_psql('postgres',
	"SELECT count(flowcontrol.create_flowrun($flow)) FROM generate_series(1, $nruns)");
my @sessions;
for my $who (1 .. 2)
{
	my $s = $node->background_psql('postgres');
	$s->query_until(qr/started/, qq{
\\echo started
DO \$\$
DECLARE
	n int;
	total int := 0;
BEGIN
	LOOP
		n := flowcontrol.continue_flowruns(50);
		total := total + n;
		COMMIT;
		EXIT WHEN n = 0 AND NOT EXISTS (SELECT FROM flowcontrol.runnable_runs);
	END LOOP;
	INSERT INTO drained VALUES ('session $who', total);
END \$\$;
});
	push @sessions, $s;
}
$_->quit for @sessions;

$node->poll_query_until('postgres',
	"SELECT count(*) = $nruns FROM flowcontrol.flow_run WHERE status = 'done'")
  or die 'runs not drained';
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE outcome = 'complete' AND state = '{"done": true}')
FROM flowcontrol.flow_run}), $nruns, 'every run completed');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT run_id) FROM exec_log'),
	"$nruns|$nruns", 'every run executed its step once (primary key on run_id, step)');

my $by_workers = $node->safe_psql('postgres',
	'SELECT sum(runs_executed) FROM flowcontrol.workers WHERE worker > 0');
my $by_sessions = $node->safe_psql('postgres', 'SELECT sum(runs) FROM drained');
note("executed by workers: $by_workers, by sessions: $by_sessions");
is($by_workers + $by_sessions, $nruns, 'executions counted by workers and sessions add up to the runs');
cmp_ok($by_sessions, '>', 0, 'the sessions took part');
is($node->safe_psql('postgres',
	'SELECT count(*) FROM flowcontrol.workers WHERE worker > 0 AND runs_executed > 0'),
	'2', 'both workers took part');
is($node->safe_psql('postgres', 'SELECT count(DISTINCT pid) FROM exec_log'),
	'4', 'four processes executed runs');

$node->stop;
done_testing();
