# A standby runs no worker; after promotion its worker executes the runs
# that the primary left pending.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $primary = new_node('primary', allows_streaming => 1);
setup_db($primary, 'postgres');
my $flow = $primary->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "one", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "a"}}]}')});
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

# the primary's worker pauses so that runs stay pending (the standby keeps
# flowcontrol.enabled = on from the backup)
$primary->safe_psql('postgres', 'ALTER SYSTEM SET flowcontrol.enabled = off');
$primary->reload;
wait_for_worker($primary, 'postgres', 1, 'disabled');
$primary->safe_psql('postgres',
	"SELECT count(flowcontrol.create_flowrun($flow)) FROM generate_series(1, 3)");
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT count(*) FROM flowcontrol.flow_run WHERE status = \'pending\''),
	'3', 'the standby has the pending runs');
is($standby->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'flowcontrol%'"),
	'0', 'no flowcontrol process runs on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM flowcontrol.workers'),
	'0', 'flowcontrol.workers is empty on the standby');

$primary->stop;
$standby->promote;
$standby->poll_query_until('postgres',
	"SELECT count(*) = 3 FROM flowcontrol.flow_run WHERE status = 'done' AND outcome = 'complete'")
  or die 'runs not executed after promotion';
is($standby->safe_psql('postgres', 'SELECT count(*), count(DISTINCT run_id) FROM exec_log'),
	'3|3', 'after promotion the worker executed every run once');

$standby->stop;
done_testing();
