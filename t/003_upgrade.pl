# Upgrade paths: for every version with an install script, install it,
# store a flow and a run, ALTER EXTENSION ... UPDATE to the default version,
# and compare the extension's objects with a fresh install of that version.
# With a single version this checks the trivial path; each release adds
# flowcontrol--OLD--NEW.sql and this test covers it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $sharedir = $node->safe_psql('postgres', q{SELECT setting FROM pg_config WHERE name = 'SHAREDIR'});
my @versions = map { /flowcontrol--([0-9.]+)\.sql$/ ? $1 : () } glob("$sharedir/extension/flowcontrol--*.sql");
my $default = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'flowcontrol'});
ok(scalar(@versions) >= 1, "install scripts found: @versions");

# what a version's objects look like: functions, tables, columns, views
my $describe = q{
	SELECT string_agg(d, E'\n' ORDER BY d) FROM (
		SELECT 'function ' || p.oid::regprocedure || ' ' || pg_get_function_result(p.oid) AS d
		FROM pg_proc p WHERE p.pronamespace = 'flowcontrol'::regnamespace
		UNION ALL
		SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
			|| coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
		WHERE c.relnamespace = 'flowcontrol'::regnamespace
		UNION ALL
		SELECT 'index ' || pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'flowcontrol'::regnamespace
		UNION ALL
		SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)
		FROM pg_constraint WHERE connamespace = 'flowcontrol'::regnamespace
		UNION ALL
		SELECT 'policy ' || polname || ' ' || pg_get_expr(polqual, polrelid) FROM pg_policy
		WHERE polrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'flowcontrol'::regnamespace)
	) s};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION flowcontrol');
my $expected = $node->safe_psql('fresh', $describe);

for my $version (@versions)
{
	my $db = "from_$version";
	$db =~ s/\./_/g;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION flowcontrol VERSION '$version'");
	$node->safe_psql(
		$db, q{
		SELECT flowcontrol.define_flow('{"name": "kept", "active": true,
			"actions": [{"action": "DelayAction", "config": {"seconds": 3600}}]}');
		SELECT flowcontrol.start_flowrun(1);
	});
	$node->safe_psql($db, 'ALTER EXTENSION flowcontrol UPDATE');
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'flowcontrol'}),
		$default, "$version updates to $default");
	is($node->safe_psql($db, $describe), $expected, "$version updated looks like a fresh $default");
	is($node->safe_psql($db, q{SELECT status FROM flowcontrol.flow_run}),
		'waiting', "$version: runs survive the update");
}

$node->stop;
done_testing();
