# flowcontrol.role: the launcher waits for the role to exist; a worker that
# is not a superuser executes only the runs of flows whose owner it is a
# member of, and the actions run as the flow's owner.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $node = new_node('role', 'flowcontrol.role' => "'flowbot'");
$node->safe_psql('postgres', 'CREATE EXTENSION flowcontrol');
$node->poll_query_until('postgres',
	"SELECT state = 'waiting for role' FROM flowcontrol.workers WHERE worker = 0")
  or die 'launcher not waiting for its role';
ok($node->log_contains('flowcontrol launcher: role "flowbot" does not exist; waiting'),
	'launcher logs that it waits for the role');
$node->safe_psql('postgres', 'DROP EXTENSION flowcontrol');

$node->safe_psql('postgres', q{
CREATE ROLE app;
CREATE ROLE flowbot LOGIN IN ROLE app;
});
setup_db($node, 'postgres');
# flow owners need USAGE on the schema (README); the worker's role needs
# nothing of its own: its queries run as the extension owner, and it
# executes only runs of flows whose owner it is a member of
$node->safe_psql('postgres', 'GRANT USAGE ON SCHEMA flowcontrol TO app');
my $wpid = worker_pid($node, 'postgres', 1);
is($node->safe_psql('postgres', "SELECT usename FROM pg_stat_activity WHERE pid = $wpid"),
	'flowbot', 'the worker connects as flowcontrol.role');

# the log table records who ran each step
$node->safe_psql('postgres', q{
ALTER TABLE exec_log ADD COLUMN who name NOT NULL DEFAULT current_user;
GRANT INSERT ON exec_log TO app;
});
my ($mine, $theirs) = split /\n/, $node->safe_psql('postgres', q{
SELECT flowcontrol.define_flow('{"name": "app flow", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "app"}}]}');
SELECT flowcontrol.define_flow('{"name": "superuser flow", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "postgres"}}]}');
});
$node->safe_psql('postgres', "UPDATE flowcontrol.flow SET owner = 'app' WHERE id = $mine");
my $run_theirs = $node->safe_psql('postgres', "SELECT id FROM flowcontrol.create_flowrun($theirs)");
my $run_mine = $node->safe_psql('postgres', "SELECT id FROM flowcontrol.create_flowrun($mine)");
$node->poll_query_until('postgres',
	"SELECT status = 'done' FROM flowcontrol.flow_run WHERE id = $run_mine")
  or die 'run of the app flow not executed';
is($node->safe_psql('postgres', 'SELECT step, who FROM exec_log'),
	'app|app', 'the worker executed the run of a flow its role may see, as the flow owner');
is($node->safe_psql('postgres', "SELECT status FROM flowcontrol.flow_run WHERE id = $run_theirs"),
	'pending', 'and left the run of a flow it may not see alone');

$node->stop;
done_testing();
