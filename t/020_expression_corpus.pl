# The fuzzer's seed corpus, crashing inputs included (fuzz/corpus), replayed
# against a real server: every input is evaluated as an expression over a
# few contexts, validated, and rendered as a template.  Errors are expected;
# the server must survive them all.  This keeps the fuzzer's findings under
# test where libFuzzer does not run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dir = ($ENV{TESTDIR} // '.') . '/fuzz/corpus';
opendir(my $dh, $dir) or die "cannot open $dir: $!";
my @files = sort grep { -f "$dir/$_" } readdir($dh);
closedir($dh);
ok(@files >= 30, 'the seed corpus is there');

my $node = PostgreSQL::Test::Cluster->new('corpus');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'flowcontrol'\nflowcontrol.enabled = off\n");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION flowcontrol;
	-- the filter the fuzz harness knows as "reg"
	CREATE FUNCTION reg(value jsonb, arg jsonb) RETURNS jsonb
		LANGUAGE sql AS $$ SELECT value || arg $$;
	SELECT flowcontrol.register_filter('reg', 'reg(jsonb, jsonb)');
	CREATE FUNCTION render(template text, ctx jsonb) RETURNS text
		LANGUAGE C STRICT AS '$libdir/flowcontrol', 'flowcontrol_render_template';
	CREATE TABLE corpus (name text, input bytea);
	CREATE TABLE outcome (name text, step text, error text);
});

my $insert = '';
foreach my $file (@files)
{
	my $input = slurp_file("$dir/$file");
	$insert .= sprintf("INSERT INTO corpus VALUES ('%s', '\\x%s');\n",
		$file, unpack('H*', $input));
}
$node->safe_psql('postgres', $insert);

# Each step in its own exception block: one input's error must not hide
# another's crash.
$node->safe_psql(
	'postgres', q{
DO $$
DECLARE
	c record;
	source text;
	ctx jsonb;
	contexts jsonb[] := ARRAY['{}',
		'{"a": 1, "b": "str", "c": [1, "x", null, true, [2, 3], {"k": "v"}], "d": {"x": {"y": [0, 1.5]}, "0": "z"}, "t": true, "f": false, "n": null, "e": "", "z": 0, "big": 12345678901234567890, "neg": -2.5, "u": "ünï", "l": [], "o": {}}'];
BEGIN
	FOR c IN SELECT * FROM corpus ORDER BY name LOOP
		BEGIN
			source := convert_from(c.input, 'UTF8');
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO outcome VALUES (c.name, 'decode', SQLSTATE);
			CONTINUE;
		END;
		FOREACH ctx IN ARRAY contexts LOOP
			BEGIN
				PERFORM flowcontrol.evaluate(source, ctx);
				INSERT INTO outcome VALUES (c.name, 'evaluate', NULL);
			EXCEPTION WHEN OTHERS THEN
				INSERT INTO outcome VALUES (c.name, 'evaluate', SQLSTATE);
			END;
		END LOOP;
		BEGIN
			PERFORM flowcontrol.validate_expression(source);
			INSERT INTO outcome VALUES (c.name, 'validate', NULL);
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO outcome VALUES (c.name, 'validate', SQLSTATE);
		END;
		BEGIN
			PERFORM render(source, contexts[2]);
			INSERT INTO outcome VALUES (c.name, 'render', NULL);
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO outcome VALUES (c.name, 'render', SQLSTATE);
		END;
	END LOOP;
END $$;
});

is($node->safe_psql('postgres', 'SELECT count(DISTINCT name) FROM outcome'),
	scalar(@files), 'every input was run');
is( $node->safe_psql(
		'postgres', q{
	SELECT string_agg(DISTINCT error, ',' ORDER BY error) FROM outcome
	WHERE error NOT IN ('42601', '42704', '54000')}),
	'', 'errors are syntax errors, unknown filters or limits only');
ok( $node->safe_psql(
		'postgres', "SELECT count(*) FROM outcome WHERE step = 'evaluate' AND error IS NULL"
	) > 40,
	'most inputs evaluate');
is( $node->safe_psql(
		'postgres', q{
	SELECT error FROM outcome WHERE name = 'crash-blank-placeholder' AND step = 'render'}),
	'42601', 'the placeholder blank but for a vertical tab is a syntax error');

$node->stop;
done_testing();
