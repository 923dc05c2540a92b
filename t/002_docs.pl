# Every ```sql block of README.md and doc/*.md runs: the blocks of each
# page are executed in order, in one session, on a fresh database, and
# must not fail.  The docs cannot rot.  doc/testing.md's pgTAP example
# needs pgTAP installed (postgresql-15-pgtap; tools/tmp-install copies it
# from the system installation) and fails the page if an assertion fails.
use strict;
use warnings;
use File::Basename;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('docs');
$node->init;
# the worker serves only "postgres", where no page runs: the examples drive
# execution themselves, as a session without the worker would
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'flowcontrol'\n"
	  . "flowcontrol.database = 'postgres'");
$node->start;

my @pages = ('README.md', sort glob('doc/*.md'));
for my $page (@pages)
{
	open(my $fh, '<', $page) or die "could not open $page: $!";
	my ($in_sql, $sql, $blocks) = (0, '', 0);
	while (my $line = <$fh>)
	{
		if (!$in_sql && $line =~ /^```sql\s*$/)
		{
			$in_sql = 1;
			$blocks++;
			next;
		}
		if ($in_sql && $line =~ /^```\s*$/)
		{
			$in_sql = 0;
			$sql .= "\n";
			next;
		}
		$sql .= $line if $in_sql;
	}
	close($fh);
	next if $blocks == 0;

	my $db = 'doc_' . basename($page, '.md');
	$db =~ s/[^a-z0-9_]/_/gi;
	$node->safe_psql('postgres', "CREATE DATABASE \"$db\"");
	# pages that do not install the extension themselves get it installed
	$node->safe_psql($db, 'CREATE EXTENSION flowcontrol')
	  unless $sql =~ /CREATE EXTENSION flowcontrol/i;

	if ($sql =~ /CREATE EXTENSION (?:IF NOT EXISTS )?pgtap/i
		&& $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_available_extensions WHERE name = 'pgtap'") eq '0')
	{
		# CI installs it for the host's PostgreSQL (.ci/run); tools/pg-matrix
		# where the suite has a package
		SKIP:
		{
			skip("$page needs pgTAP (apt-get install postgresql-N-pgtap)", 1);
		}
		next;
	}

	my ($ret, $stdout, $stderr) = $node->psql($db, $sql, on_error_stop => 1);
	is($ret, 0, "$page: $blocks sql blocks run") or diag($stderr);
}

$node->stop;
done_testing();
