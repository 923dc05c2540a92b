# DROP DATABASE of the workers' database terminates the workers only when
# PostgreSQL would go on to drop it: a role that does not own the database,
# a DROP DATABASE inside a transaction block, or one of the database
# itself fails as usual and leaves the workers running.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $node = new_node('main', 'flowcontrol.database' => "'flowdb'",
	'flowcontrol.max_workers' => '2');
$node->safe_psql('postgres', 'CREATE DATABASE flowdb');
setup_db($node, 'flowdb');
$node->safe_psql('postgres', 'CREATE ROLE regress_mallory LOGIN CREATEDB');
$node->safe_psql('flowdb', q{
SELECT flowcontrol.define_flow('{"name": "one", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "a"}}]}');
});

my @pids = (worker_pid($node, 'flowdb', 1), worker_pid($node, 'flowdb', 2));
my $all_pids = q{SELECT string_agg(pid::text, ',' ORDER BY worker) FROM flowcontrol.workers};
my $before = $node->safe_psql('flowdb', $all_pids);
my $backends = q{SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity
	WHERE backend_type = 'flowcontrol worker'};
my $backends_before = $node->safe_psql('postgres', $backends);
is($backends_before, join(',', sort { $a <=> $b } @pids),
	'pg_stat_activity shows the two workers');

# the statements that must fail before they reach the workers
my @refused = (
	[ 'postgres', 'regress_mallory', 'DROP DATABASE flowdb',
		qr/must be owner of database flowdb/, 'a role that does not own it' ],
	[ 'postgres', 'regress_mallory', 'DROP DATABASE IF EXISTS flowdb',
		qr/must be owner of database flowdb/, 'IF EXISTS, by a role that does not own it' ],
	[ 'postgres', 'regress_mallory', 'DROP DATABASE flowdb WITH (FORCE)',
		qr/must be owner of database flowdb/, 'WITH (FORCE), by a role that does not own it' ],
	[ 'postgres', undef, 'BEGIN; DROP DATABASE flowdb',
		qr/DROP DATABASE cannot run inside a transaction block/, 'in a transaction block' ],
	[ 'flowdb', undef, 'DROP DATABASE flowdb',
		qr/cannot drop the currently open database/, 'from the database itself' ],
);
for my $case (@refused)
{
	my ($db, $role, $sql, $expected, $what) = @$case;
	my ($ret, $out, $err) = $node->psql($db, defined $role ? "SET ROLE $role; $sql" : $sql);
	isnt($ret, 0, "DROP DATABASE $what fails");
	like($err, $expected, "DROP DATABASE $what: the usual error");
}

# A terminated worker would be replaced by a new process: a run executed
# after the attempts by one of the very same workers, which still show the
# same pids, shows that none was touched.
$node->safe_psql('flowdb', 'SELECT flowcontrol.create_flowrun(1)');
$node->poll_query_until('flowdb', q{SELECT EXISTS (SELECT FROM exec_log WHERE step = 'a')})
  or die 'run not executed';
my $executor = $node->safe_psql('flowdb', q{SELECT pid FROM exec_log WHERE step = 'a'});
ok((grep { $_ == $executor } @pids), 'the run was executed by one of the original workers');
is($node->safe_psql('flowdb', $all_pids), $before,
	'flowcontrol.workers shows the same launcher and worker pids');
is($node->safe_psql('postgres', $backends), $backends_before,
	'pg_stat_activity shows the same worker pids');
ok(!$node->log_contains('terminating background worker "flowcontrol worker"'),
	'no worker was terminated');

# the owner still drops it, workers and all
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE flowdb');
is($ret, 0, 'the owner drops the workers\' database') or diag($err);

$node->stop;
done_testing();
