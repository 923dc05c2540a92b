# Owner isolation under attack: ordinary roles, granted what README.md
# recommends, try to gain another role's rights (up to superuser through
# the background worker), to leak settings into other owners' code, to lock
# or probe rows they could not lock, and to crash the server.  Every attack
# must fail, no role may gain rights, and the server must not reset.
#
# Roles: "victim" and the bootstrap superuser own flows; "shop" owns a table
# with a flow trigger; "attacker" is an ordinary flowcontrol user; "writer"
# may only INSERT into shop's table.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FcWorker;

my $node = new_node('attacks');
setup_db($node, 'postgres');
my $su = $node->safe_psql('postgres', 'SELECT current_user');

$node->safe_psql('postgres', q{
CREATE ROLE victim;
CREATE ROLE shop;
CREATE ROLE attacker LOGIN;
CREATE ROLE writer LOGIN;
GRANT USAGE ON SCHEMA flowcontrol TO victim, shop, attacker;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO victim, shop, attacker;
GRANT SELECT, INSERT, UPDATE, DELETE ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger
	TO victim, shop, attacker;
GRANT SELECT, DELETE ON flowcontrol.flow_run TO victim, shop, attacker;
GRANT SELECT ON flowcontrol.action_type, flowcontrol.trigger_type, flowcontrol.filter
	TO victim, shop, attacker;

-- what the attacker's code records every time it runs, and as whom
CREATE TABLE public.calls (what text, who name DEFAULT current_user);
GRANT INSERT ON public.calls TO PUBLIC;

-- the attacker's schema: a function and an operator named like built-ins,
-- an enum whose cast to json tries to make the attacker a superuser
CREATE SCHEMA attacker AUTHORIZATION attacker;
SET ROLE attacker;
CREATE FUNCTION attacker.lower(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.calls (what) VALUES ('lower');
	RETURN 'pwned';
END $$;
CREATE FUNCTION attacker.arrow(jsonb, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.calls (what) VALUES ('->>');
	RETURN 'pwned';
END $$;
CREATE OPERATOR attacker.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = attacker.arrow);
CREATE TYPE attacker.mood AS ENUM ('evil');
CREATE FUNCTION attacker.mood_json(attacker.mood) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.calls (what) VALUES ('cast');
	BEGIN
		EXECUTE 'ALTER ROLE attacker SUPERUSER';
	EXCEPTION WHEN OTHERS THEN NULL;
	END;
	RETURN '"x"';
END $$;
CREATE CAST (attacker.mood AS json) WITH FUNCTION attacker.mood_json(attacker.mood);
CREATE TABLE attacker.t2 (id int PRIMARY KEY, m attacker.mood);
INSERT INTO attacker.t2 VALUES (1, 'evil');
GRANT USAGE ON SCHEMA attacker TO PUBLIC;
GRANT SELECT ON attacker.t2 TO PUBLIC;
-- an action that meddles with the session it runs in
CREATE FUNCTION attacker.meddle(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('search_path', 'attacker, pg_catalog, public', false);
	PERFORM set_config('default_transaction_read_only', 'on', false);
	RETURN 'continue';
END $$;
RESET ROLE;

-- the victim's action: lower() and ->> unqualified, as most code is
CREATE TABLE public.results (what text, value text, who name DEFAULT current_user);
GRANT INSERT ON public.results TO victim, shop;
CREATE FUNCTION public.use_builtins(run flowcontrol.flow_run, obj jsonb, config jsonb)
RETURNS flowcontrol.directive LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.results (what, value) VALUES ('lower', lower('ABC'));
	INSERT INTO public.results (what, value) VALUES ('->>', config->>'x');
	RETURN 'continue';
END $$;
SELECT flowcontrol.register_action('UseBuiltins', 'public.use_builtins(flowcontrol.flow_run,jsonb,jsonb)');

-- shop's table with a flow trigger, written by "writer"
CREATE SCHEMA shop AUTHORIZATION shop;
CREATE TABLE shop.orders (id int PRIMARY KEY, item text);
ALTER TABLE shop.orders OWNER TO shop;
GRANT USAGE ON SCHEMA shop TO writer, attacker;
GRANT INSERT ON shop.orders TO writer, attacker;
INSERT INTO shop.orders VALUES (1, 'teapot');
SET ROLE shop;
SELECT flowcontrol.attach_trigger('shop.orders', 'order_saved', '{INSERT}', immediate => true);
SELECT flowcontrol.define_flow('{"name": "shop flow", "active": true, "object_table": "shop.orders",
	"actions": [{"action": "UseBuiltins", "config": {"x": "ok"}}],
	"triggers": [{"trigger_name": "order_saved"}]}');
RESET ROLE;

-- the superuser's nightly flow: no object table, a trigger name
SELECT flowcontrol.register_trigger('nightly');
SELECT flowcontrol.define_flow('{"name": "nightly", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "nightly"}}],
	"triggers": [{"trigger_name": "nightly"}]}');
});
$node->safe_psql('postgres', q{SELECT flowcontrol.register_action('AttackerMeddle',
	'attacker.meddle(flowcontrol.flow_run,jsonb,jsonb)')});

sub attacker_sql
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql,
		extra_params => [ '-U', 'attacker' ]);
	return ($ret, $out, $err);
}

sub calls_by_others
{
	return $node->safe_psql('postgres',
		q{SELECT count(*) FROM public.calls WHERE who <> 'attacker'});
}

sub all_done
{
	$node->poll_query_until('postgres', q{
		SELECT count(*) = 0 FROM flowcontrol.flow_run WHERE status IN ('pending', 'running')})
	  or die 'runs not executed';
	wait_for_worker($node, 'postgres', 1, 'idle');
	return;
}

# 1. an object the starter chose, read by the superuser's flow in the worker
my ($ret, $out, $err) = attacker_sql(q{
SELECT count(*) FROM flowcontrol.trigger_flows('nightly', 'attacker.t2', '1');
SELECT count(*) FROM flowcontrol.trigger_flows('nightly', 'attacker.t2', '1', immediate => true);
});
my $nightly = $node->safe_psql('postgres', q{SELECT id FROM flowcontrol.flow WHERE name = 'nightly'});
($ret, $out, $err) = attacker_sql("SELECT flowcontrol.create_flowrun($nightly, 'attacker.t2', '1')");
isnt($ret, 0, "the attacker cannot start the superuser's flow with its object");
all_done();
is($node->safe_psql('postgres', q{SELECT count(*) FROM flowcontrol.flow_run WHERE object_table = 'attacker.t2'::regclass}),
	'0', 'no run of another owner carries the attacker\'s object');

# ... nor of the attacker's own flow that names no table, as the attacker
($ret, $out, $err) = attacker_sql(q{
SELECT flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "own", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "own"}}]}'), 'attacker.t2', '1');
});
is($ret, 0, 'the attacker may attach its own object to its own flow') or diag($err);

# 2. settings left behind by one owner's action, in the worker
my ($meddle_run, $victim_run) = split /\n/, $node->safe_psql('postgres', q{
SET ROLE attacker;
SELECT id FROM flowcontrol.create_flowrun(flowcontrol.define_flow('{"name": "meddler", "active": true,
	"actions": [{"action": "AttackerMeddle"}]}'));
RESET ROLE;
SET ROLE victim;
SELECT id FROM flowcontrol.create_flowrun(flowcontrol.define_flow('{"name": "victim flow", "active": true,
	"actions": [{"action": "UseBuiltins", "config": {"x": "ok"}}]}'));
});
all_done();
is($node->safe_psql('postgres', q{SELECT string_agg(what || '=' || value || ' as ' || who, ', ' ORDER BY what)
	FROM public.results WHERE who = 'victim'}),
	'->>=ok as victim, lower=abc as victim',
	"the worker ran the victim's action with the victim's settings, not the attacker's");
is($node->safe_psql('postgres', "SELECT outcome FROM flowcontrol.flow_run WHERE id = $meddle_run"),
	'complete', "the attacker's meddling action itself completed");
my $marker = $node->safe_psql('postgres',
	q{SELECT id FROM flowcontrol.create_flowrun((SELECT id FROM flowcontrol.flow WHERE name = 'victim flow'))});
$node->poll_query_until('postgres', "SELECT outcome = 'complete' FROM flowcontrol.flow_run WHERE id = $marker")
  or die 'the worker stalled';
pass('default_transaction_read_only set by an action does not stall the worker');

# 3. the caller's settings reaching the owner's code: shop's table trigger,
# fired by the attacker's INSERT with a trapped search_path
$node->safe_psql('postgres', 'TRUNCATE public.results');
($ret, $out, $err) = attacker_sql(q{
SET search_path = attacker, pg_catalog, public;
INSERT INTO shop.orders VALUES (2, 'kettle');
});
is($ret, 0, 'the attacker may insert into shop.orders') or diag($err);
is($node->safe_psql('postgres', q{SELECT string_agg(what || '=' || value || ' as ' || who, ', ' ORDER BY what)
	FROM public.results}),
	'->>=ok as shop, lower=abc as shop', "shop's action ran with shop's settings, not the inserter's");

# 4. a writer with INSERT only, in a fresh session, through the same trigger
($ret, $out, $err) = $node->psql('postgres', q{INSERT INTO shop.orders VALUES (3, 'cup')},
	extra_params => [ '-U', 'writer' ]);
is($ret, 0, 'a writer with INSERT only can write to a table with a flow trigger') or diag($err);

# 5. row locks and existence probes through limits
$node->safe_psql('postgres', 'CREATE EXTENSION pgrowlocks');
my $limited = $node->safe_psql('postgres', q{
SET ROLE attacker;
SELECT flowcontrol.define_flow('{"name": "limited", "active": true, "max_concurrent_per_object": 1,
	"actions": [{"action": "LogStep", "config": {"step": "limited"}}]}');
});
is($node->safe_psql('postgres', qq{
BEGIN;
SET LOCAL ROLE attacker;
SELECT (flowcontrol.create_flowrun($limited, 'shop.orders', '1')).id IS NOT NULL;
RESET ROLE;
SELECT count(*) FROM pgrowlocks('shop.orders');
ROLLBACK;
}), "t\n0", 'the attacker holds no lock on a row of a table it may not lock');
my $probe = qq{
BEGIN;
SET LOCAL ROLE attacker;
SELECT (flowcontrol.create_flowrun($limited, 'shop.orders', '%s')).id IS NOT NULL;
RESET ROLE;
SELECT string_agg(locktype || ' ' || mode, ', ' ORDER BY locktype, mode) FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype NOT IN ('virtualxid', 'transactionid', 'relation');
ROLLBACK;
};
is($node->safe_psql('postgres', sprintf($probe, '1')), $node->safe_psql('postgres', sprintf($probe, '999')),
	'an existing and a missing key look the same in pg_locks');

# 6. an error after an immediate run, caught in the same block
($ret, $out, $err) = attacker_sql(q{
DO $$
DECLARE n int;
BEGIN
	BEGIN
		n := (SELECT count(*) FROM flowcontrol.trigger_flows('order_saved', immediate => true));
		PERFORM set_config('flowcontrol.no_such_setting', 'x', false);
	EXCEPTION WHEN OTHERS THEN
		RAISE NOTICE 'caught %', SQLERRM;
	END;
END $$;
SELECT 'alive';
});
like($out, qr/alive/, 'the session survives an error after an immediate run');

# 7. binding to shop's trigger name, or inserting the binding directly
($ret, $out, $err) = attacker_sql(q{
SELECT flowcontrol.define_flow('{"name": "eavesdrop", "active": true,
	"actions": [{"action": "LogStep", "config": {"step": "eavesdrop"}}],
	"triggers": [{"trigger_name": "order_saved", "condition": "object.nope|lower == 1"}]}');
});
like($err, qr/may not bind/, "the attacker cannot bind a flow to shop's trigger name");
($ret, $out, $err) = attacker_sql(qq{
INSERT INTO flowcontrol.trigger (trigger_name, flow_id)
VALUES ('order_saved', (SELECT id FROM flowcontrol.flow WHERE name = 'limited'));
});
like($err, qr/may not bind/, 'nor by inserting the binding row');
($ret, $out, $err) = attacker_sql(q{SELECT count(*) FROM flowcontrol.trigger_flows('order_saved')});
like($err, qr/permission denied to fire/, "nor fire shop's name");
($ret, $out, $err) = $node->psql('postgres', q{INSERT INTO shop.orders VALUES (4, 'spoon')},
	extra_params => [ '-U', 'writer' ]);
is($ret, 0, "shop's writes still succeed") or diag($err);

# 8. others' ids answer like missing ids
my ($shop_trigger, $shop_run) = split /\n/, $node->safe_psql('postgres', q{
SELECT id FROM flowcontrol.trigger WHERE trigger_name = 'order_saved';
SELECT max(id) FROM flowcontrol.flow_run r WHERE r.flow_id = (SELECT id FROM flowcontrol.flow WHERE name = 'shop flow');
});
my %answer;
sub masked
{
	my ($text, $id) = @_;
	$text =~ s/^psql:<stdin>:\d+: //mg;
	$text =~ s/\b$id\b/N/g;
	$text =~ s/\(\d+\)/(action)/g;
	# log lines carry their time: two runs may straddle a second
	$text =~ s/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00 //mg;
	return $text;
}
for my $id ($shop_trigger, 999999)
{
	# accepted when saved (the attacker cannot see the trigger either way),
	# refused when the run gets there
	my $log = $node->safe_psql('postgres', qq{
SET ROLE attacker;
SELECT log FROM flowcontrol.start_flowrun(flowcontrol.define_flow('{"name": "wait $id", "active": true,
	"actions": [{"action": "WaitForTriggerAction", "config": {"trigger": $id}}]}'));
});
	$answer{"wait $id"} = masked($log, $id);
	($ret, $out, $err) = attacker_sql(qq{SELECT flowcontrol.create_flowrun($limited, trigger_id => $id)});
	$answer{"trigger $id"} = masked($err, $id);
}
for my $id ($shop_run, 999999)
{
	($ret, $out, $err) = attacker_sql(qq{SELECT flowcontrol.create_flowrun($limited, parent_run_id => $id)});
	$answer{"parent $id"} = masked($err, $id);
}
like($answer{"wait $shop_trigger"}, qr/does not exist/, "a run waiting for shop's trigger is refused");
is($answer{"wait $shop_trigger"}, $answer{'wait 999999'}, "... exactly as one waiting for a missing trigger");
is($answer{"trigger $shop_trigger"}, $answer{'trigger 999999'}, "shop's trigger id probes like a missing one");
is($answer{"parent $shop_run"}, $answer{'parent 999999'}, "shop's run id probes like a missing one");

# 9. NULLs where the definition triggers read columns
($ret, $out, $err) = attacker_sql(qq{
INSERT INTO flowcontrol.flow_action (flow_id, action) VALUES ($limited, NULL);
INSERT INTO flowcontrol.flow_action (flow_id, action, config) VALUES ($limited, 'AbortAction', NULL);
});
like($err, qr/null value/, 'NULL action or config: a constraint error');
($ret, $out, $err) = attacker_sql(q{SELECT 'alive'});
like($out, qr/alive/, 'the server is still up');

# the outcome
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'attacker'}),
	'f', 'the attacker did not become a superuser');
is(calls_by_others(), '0', "the attacker's code never ran as another role");
ok(!$node->log_contains('terminated by signal'), 'the server never reset');

$node->stop;
done_testing();
