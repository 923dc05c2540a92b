# flowcontrol without shared_preload_libraries, DROP/CREATE EXTENSION, and a
# pg_dump / restore round trip of a database with user flows, runs and
# registrations.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('plain');
$node->init;
$node->start;

# No preloading: the extension still installs and runs flows.
$node->safe_psql('postgres', 'CREATE EXTENSION flowcontrol');
is( $node->safe_psql(
		'postgres', q{
	SELECT (flowcontrol.start_flowrun(flowcontrol.define_flow(
		'{"name": "quick", "active": true, "actions": [
			{"action": "SetStateAction", "config": {"state": {"i": 1}}},
			{"action": "UpdateStateAction", "config": {"state": {"i": "i|add:1"}, "evaluate": true}}]}'))).state}),
	'{"i": 2}',
	'flows run without shared_preload_libraries');
$node->safe_psql('postgres', 'DROP EXTENSION flowcontrol');
$node->safe_psql('postgres', 'CREATE EXTENSION flowcontrol');
is($node->safe_psql('postgres', 'SELECT count(*) FROM flowcontrol.action_type'),
	'12', 'DROP and CREATE EXTENSION again');

# A database with everything a user keeps in flowcontrol.
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql(
	'app', q{
	CREATE EXTENSION flowcontrol;
	CREATE TABLE orders (id int PRIMARY KEY, paid boolean);
	CREATE FUNCTION notify_ops(run flowcontrol.flow_run, obj jsonb, config jsonb)
		RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'continue'::flowcontrol.directive $$;
	CREATE FUNCTION shout(value jsonb, arg jsonb) RETURNS jsonb
		LANGUAGE sql AS $$ SELECT to_jsonb(upper(value #>> '{}')) $$;
	SELECT flowcontrol.register_action('NotifyOps', 'notify_ops(flowcontrol.flow_run,jsonb,jsonb)');
	SELECT flowcontrol.register_filter('shout', 'shout(jsonb,jsonb)');
	SELECT flowcontrol.attach_trigger('orders', 'order_saved');
	SELECT flowcontrol.define_flow('{"name": "paid orders", "active": true, "object_table": "orders",
		"condition": "object.paid",
		"actions": [
			{"action": "DelayAction", "config": {"seconds": 259200}},
			{"action": "IfAction", "config": {"condition": "not object.paid|shout"},
			 "children": [{"action": "NotifyOps", "config": {"to": "ops"}}]}],
		"triggers": [{"trigger_name": "order_saved", "condition": "object.paid"}]}');
	INSERT INTO orders VALUES (1, true), (2, false), (3, true);
	SELECT flowcontrol.continue_flowruns();
	-- a name granted to another role, whose flow is bound to it
	CREATE ROLE auditor;
	SELECT flowcontrol.register_trigger('order_audited');
	SELECT flowcontrol.grant_trigger('order_audited', 'auditor');
	SELECT flowcontrol.define_flow('{"name": "audit", "active": true, "actions": [{"action": "AbortAction"}],
		"triggers": [{"trigger_name": "order_audited"}]}');
	UPDATE flowcontrol.flow SET owner = 'auditor' WHERE name = 'audit';
	-- version 2 of "paid orders", while its runs wait on version 1
	SELECT flowcontrol.define_flow(jsonb_set(flowcontrol.export_flow(1),
		'{actions,0,config,seconds}', '60'), replace => true);
});
is( $node->safe_psql(
		'app', q{SELECT version, (SELECT array_agg(version) FROM flowcontrol.flow_version WHERE flow_id = 1)
				 FROM flowcontrol.flow WHERE id = 1}),
	'2|{1}',
	'a deploy keeps the version runs wait on');
my $export = q{SELECT flowcontrol.export_flow(id) FROM flowcontrol.flow ORDER BY id};
my $runs = q{SELECT id, flow_id, status, object_table, object_id, state, action_id IS NOT NULL, flow_version
			 FROM flowcontrol.flow_run ORDER BY id};
my $versions = q{SELECT f.id, f.version, flowcontrol.export_flow(f.id, v.version),
				 (SELECT array_agg(a.id ORDER BY a.id) FROM flowcontrol.flow_action a
				  WHERE a.flow_id = f.id AND a.flow_version = v.version)
				 FROM flowcontrol.flow f LEFT JOIN flowcontrol.flow_version v ON v.flow_id = f.id ORDER BY 1, 3};
my $registry = q{SELECT name, run_function FROM flowcontrol.action_type WHERE NOT builtin
				 UNION ALL SELECT name, function FROM flowcontrol.filter
				 UNION ALL SELECT name, object_table::text FROM flowcontrol.trigger_type
				 UNION ALL SELECT trigger_name, grantee::text FROM flowcontrol.trigger_grant ORDER BY 1, 2};
my %before = map { $_ => $node->safe_psql('app', $_) } ($export, $runs, $registry, $versions);

my $dump = $node->basedir . '/app.sql';
command_ok([ 'pg_dump', '-d', $node->connstr('app'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'), '-f', $dump ],
	'restore');

for my $query ($export, $runs, $registry, $versions)
{
	is($node->safe_psql('restored', $query), $before{$query}, "restored: $query");
}
is($node->safe_psql('restored', 'SELECT count(*) FROM flowcontrol.action_type WHERE builtin'),
	'12', 'built-in actions are not duplicated');

# The restored database keeps working: identities continue, the table
# trigger fires, the filter and the user action are found.
$node->safe_psql('restored', 'INSERT INTO orders VALUES (4, true)');
is( $node->safe_psql(
		'restored',
		q{SELECT count(*), max(id) > (SELECT max(id) FROM flowcontrol.flow_run WHERE object_id <> '4')
		  FROM flowcontrol.flow_run WHERE object_id = '4'}),
	'1|t',
	'the restored trigger creates a run with a new id');
$node->safe_psql('restored',
	q{UPDATE flowcontrol.flow_run SET continue_after = now() WHERE status = 'waiting';
	  UPDATE orders SET paid = false WHERE id = 1;});
is( $node->safe_psql(
		'restored',
		q{SELECT flowcontrol.continue_flowruns(); SELECT string_agg(coalesce(outcome::text, status::text) || ':' || object_id, ',' ORDER BY id) FROM flowcontrol.flow_run}),
	"3\nobsolete:1,complete:3,waiting:4",
	'restored runs resume');
# run 3 finished version 1's actions, run 4 started on version 2; version 1
# went with the last run that used it
is( $node->safe_psql(
		'restored',
		q{SELECT string_agg(object_id || ':' || flow_version, ',' ORDER BY id) FROM flowcontrol.flow_run;
		  SELECT count(*) FROM flowcontrol.flow_version;
		  SELECT array_agg(DISTINCT flow_version) FROM flowcontrol.flow_action WHERE flow_id = 1}),
	"1:1,3:1,4:2\n0\n{2}",
	'restored runs finish on their version, which is then removed');
is($node->safe_psql('restored', q{SELECT flowcontrol.evaluate('x|shout', '{"x": "a"}')}),
	'"A"', 'restored filter');
# bindings are restored before the grants that admit them, and still fire
is( $node->safe_psql(
		'restored', q{SELECT f.owner FROM flowcontrol.trigger_flows('order_audited') r
					  JOIN flowcontrol.flow f ON f.id = r.flow_id}),
	'auditor', 'a restored grant admits the restored binding');

$node->stop;
done_testing();
