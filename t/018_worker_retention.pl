# flowcontrol.retention: an idle worker deletes the runs that are done and
# older than the setting, in batches, and leaves the rest alone; 0 (the
# default) keeps every run.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $node = new_node('retention');
setup_db($node, 'postgres');

# 2,500 runs done 2 days ago (more than two batches), 10 done an hour ago,
# 5 waiting for a day with an old done_at
$node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "old", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "old"}}]}');
INSERT INTO flowcontrol.flow_run (flow_id, status, outcome, done_at)
SELECT f.id, 'done', 'complete', now() - interval '2 days'
FROM flowcontrol.flow f, generate_series(1, 2500) WHERE f.name = 'old';
INSERT INTO flowcontrol.flow_run (flow_id, status, outcome, done_at)
SELECT f.id, 'done', 'complete', now() - interval '1 hour'
FROM flowcontrol.flow f, generate_series(1, 10) WHERE f.name = 'old';
INSERT INTO flowcontrol.flow_run (flow_id, status, continue_after, done_at, action_id)
SELECT f.id, 'waiting', now() + interval '1 day', now() - interval '9 days',
	(SELECT id FROM flowcontrol.flow_action a WHERE a.flow_id = f.id)
FROM flowcontrol.flow f, generate_series(1, 5) WHERE f.name = 'old';
});
my $counts = q{SELECT count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status <> 'done')
	FROM flowcontrol.flow_run};

# the default keeps everything, also after the worker has been busy
my $marker = $node->safe_psql('postgres',
	q{SELECT id FROM flowcontrol.create_flowrun((SELECT id FROM flowcontrol.flow WHERE name = 'old'))});
$node->poll_query_until('postgres', "SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $marker")
  or die 'marker run not executed';
wait_for_worker($node, 'postgres', 1, 'idle');
is($node->safe_psql('postgres', $counts), "2511|5", 'with retention 0 no run is deleted');

# one day: the old done runs go, the rest stay
$node->safe_psql('postgres', q{ALTER SYSTEM SET flowcontrol.retention = '1 day'});
$node->reload;
$node->poll_query_until('postgres', q{SELECT setting = '1 day' FROM pg_settings WHERE name = 'flowcontrol.retention'})
  or die 'setting not reloaded';
$marker = $node->safe_psql('postgres',
	q{SELECT id FROM flowcontrol.create_flowrun((SELECT id FROM flowcontrol.flow WHERE name = 'old'))});
$node->poll_query_until("postgres", $counts, "12|5")
  or die 'old runs not deleted';
pass('the worker deleted the runs done more than a day ago, in batches');
is($node->safe_psql('postgres', q{SELECT count(*) FROM flowcontrol.flow_run
	WHERE status = 'done' AND done_at < now() - interval '1 day'}), '0', 'none older than a day is left');
is($node->safe_psql('postgres', q{SELECT count(*) FROM flowcontrol.flow_run WHERE status = 'waiting'}),
	'5', 'runs that are not done are never deleted');

# a bad value is refused, and the last good one stays
my ($ret, $out, $err) = $node->psql('postgres', q{ALTER SYSTEM SET flowcontrol.retention = '-1 day'});
like($err, qr/flowcontrol\.retention" must not be negative/, 'a negative retention is refused');
is($node->safe_psql('postgres', 'SHOW flowcontrol.retention'), '1 day', 'and the last good value stays');

$node->stop;
done_testing();
