# The worker pool with flowcontrol.role and on a standby: the launcher waits
# for the role; in each database a worker connects as that role and
# executes only the runs of flows whose owner it is a member of, as the
# flow's owner; a standby runs no flowcontrol process, and after promotion
# the pool executes the runs the primary left pending in every database.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $primary = new_node('primary', allows_streaming => 1,
	'flowcontrol.database' => "'*'", 'flowcontrol.role' => "'flowbot'");
$primary->safe_psql('postgres', 'CREATE DATABASE db1');
$primary->safe_psql('postgres', 'CREATE DATABASE db2');
$primary->safe_psql('db1', 'CREATE EXTENSION flowcontrol');
$primary->poll_query_until('db1',
	"SELECT state = 'waiting for role' FROM flowcontrol.workers WHERE worker = 0")
  or die 'launcher not waiting for its role';
ok($primary->log_contains('flowcontrol launcher: role "flowbot" does not exist; waiting'),
	'the pool\'s launcher logs that it waits for the role');
$primary->safe_psql('db1', 'DROP EXTENSION flowcontrol');

$primary->safe_psql('postgres', q{
CREATE ROLE app;
CREATE ROLE flowbot LOGIN IN ROLE app;
});
my %flows;
for my $db (qw(db1 db2))
{
	setup_db($primary, $db);
	$primary->safe_psql($db, q{
GRANT USAGE ON SCHEMA flowcontrol TO app;
ALTER TABLE exec_log ADD COLUMN who name NOT NULL DEFAULT current_user,
	ADD COLUMN sess name NOT NULL DEFAULT session_user;
GRANT INSERT ON exec_log TO app;
});
	my ($mine, $theirs) = split /\n/, $primary->safe_psql($db, q{
SELECT flowcontrol.define_flow('{"name": "app flow", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "app"}}]}');
SELECT flowcontrol.define_flow('{"name": "superuser flow", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "postgres"}}]}');
});
	$primary->safe_psql($db, "UPDATE flowcontrol.flow SET owner = 'app' WHERE id = $mine");
	$flows{$db} = [ $mine, $theirs ];
}

for my $db (qw(db1 db2))
{
	my ($mine, $theirs) = @{ $flows{$db} };
	my $run_theirs = $primary->safe_psql($db, "SELECT id FROM flowcontrol.create_flowrun($theirs)");
	my $run_mine = $primary->safe_psql($db, "SELECT id FROM flowcontrol.create_flowrun($mine)");
	$primary->poll_query_until($db,
		"SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $run_mine")
	  or die "run of the app flow in $db not executed";
	is($primary->safe_psql($db, 'SELECT step, who, sess FROM exec_log'),
		'app|app|flowbot', "$db: a worker connected as flowcontrol.role executed the app flow's run as its owner");
	is($primary->safe_psql($db, "SELECT status FROM flowcontrol.flow_run WHERE id = $run_theirs"),
		'pending', "$db: and left the run of a flow the role may not see alone");
}

# --- standby: nothing runs there; after promotion the pool finds the runs
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', 'ALTER SYSTEM SET flowcontrol.enabled = off');
$primary->reload;
$primary->poll_query_until('db1',
	"SELECT state = 'disabled' FROM flowcontrol.workers WHERE worker = 0")
  or die 'launcher not disabled';
my %pending;
for my $db (qw(db1 db2))
{
	$pending{$db} = $primary->safe_psql($db,
		"SELECT id FROM flowcontrol.create_flowrun($flows{$db}[0])");
}
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'flowcontrol%'"),
	'0', 'no flowcontrol process runs on the standby');

$primary->stop;
$standby->promote;
for my $db (qw(db1 db2))
{
	$standby->poll_query_until($db,
		"SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $pending{$db}")
	  or die "run in $db not executed after promotion";
	is($standby->safe_psql($db, "SELECT count(*) FROM exec_log WHERE run_id = $pending{$db}"),
		'1', "$db: after promotion the pool executed the run once");
}

$standby->stop;
done_testing();
