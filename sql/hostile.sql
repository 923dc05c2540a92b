-- A hostile search_path: functions and operators planted in a schema that
-- comes before pg_catalog.  flowcontrol installs and works without ever
-- calling them.  (This file reinstalls the extension, so it runs last.)
CREATE SCHEMA trap;
CREATE TABLE trap.calls (what text);
CREATE FUNCTION trap.int8eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO trap.calls VALUES ('bigint ='); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR trap.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = trap.int8eq);
CREATE FUNCTION trap.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO trap.calls VALUES ('text ='); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR trap.= (LEFTARG = text, RIGHTARG = text, FUNCTION = trap.texteq);
CREATE FUNCTION trap.jsonb_field(jsonb, text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO trap.calls VALUES ('->>'); RETURN $1 OPERATOR(pg_catalog.->>) $2; END $$;
CREATE OPERATOR trap.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = trap.jsonb_field);
CREATE FUNCTION trap.now() RETURNS timestamptz LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO trap.calls VALUES ('now'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION trap.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO trap.calls VALUES ('jsonb_build_object'); RETURN pg_catalog.jsonb_build_object($1, $2); END $$;
CREATE FUNCTION trap.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO trap.calls VALUES ('jsonb_typeof'); RETURN pg_catalog.jsonb_typeof($1); END $$;
CREATE FUNCTION trap.to_jsonb(anyelement) RETURNS jsonb LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO trap.calls VALUES ('to_jsonb'); RETURN pg_catalog.to_jsonb($1); END $$;
CREATE FUNCTION trap.count(bigint) RETURNS bigint LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO trap.calls VALUES ('count'); RETURN 0; END $$;

-- the traps work: with this path an unqualified bigint "=" calls one
SET search_path = trap, public, pg_catalog;
SELECT 1::bigint = 1::bigint AS trapped;
SELECT what FROM trap.calls;
TRUNCATE trap.calls;

-- install, define, start, trigger, execute, export, all under that path
SET client_min_messages = warning;
DROP EXTENSION flowcontrol CASCADE;
RESET client_min_messages;
CREATE EXTENSION flowcontrol;
CREATE TABLE public.parcel (id bigint PRIMARY KEY, status text);
CREATE FUNCTION public.ship(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb, OUT directive flowcontrol.directive)
LANGUAGE plpgsql SET search_path = pg_catalog AS
$$ BEGIN run.state := run.state || pg_catalog.jsonb_build_object('shipped', true); END $$;
CREATE FUNCTION public.upper_filter(value jsonb, arg jsonb) RETURNS jsonb
LANGUAGE sql SET search_path = pg_catalog AS $$ SELECT to_jsonb(upper(value #>> '{}')) $$;
SELECT flowcontrol.register_action('Ship', 'public.ship(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_filter('up', 'public.upper_filter(jsonb,jsonb)');
SELECT flowcontrol.attach_trigger('public.parcel', 'parcel_saved');
SELECT flowcontrol.register_trigger('parcel_scanned');
INSERT INTO flowcontrol.trigger (trigger_name, create_flow, active_at)
	VALUES ('parcel_scanned', false, pg_catalog.now());
SELECT flowcontrol.define_flow('{"name": "parcels", "active": true, "object_table": "parcel",
	"condition": "object.status != \"lost\"",
	"actions": [
		{"action": "UpdateStateAction", "config": {"state": {"label": "object.status|up"}, "evaluate": true}},
		{"action": "WaitForTriggerAction", "config": {"trigger": 1}},
		{"action": "IfAction", "config": {"condition": "object.status == \"packed\""},
		 "children": [{"action": "Ship"}]},
		{"action": "DelayAction", "config": {"seconds": 60}},
		{"action": "SendAlertAction", "config": {"body": "parcel {{ object.id }}", "templated": true}}],
	"triggers": [{"trigger_name": "parcel_saved", "condition": "object.status == \"packed\""}]}') AS flow_id \gset
SELECT flowcontrol.add_action(:flow_id, 'AbortAction');
INSERT INTO public.parcel VALUES (1, 'packed'), (2, 'packed');
SELECT flowcontrol.continue_flowruns();
SELECT status FROM flowcontrol.trigger_flows('parcel_scanned', 'public.parcel', '1', immediate => true);
SELECT count(*) FROM flowcontrol.trigger_flows('parcel_scanned', 'public.parcel', '2');
SELECT flowcontrol.continue_flowruns();
SELECT status, state FROM flowcontrol.flow_run ORDER BY id;
SELECT flowcontrol.cancel_flowruns_for_object('public.parcel', '1');
SELECT (flowcontrol.reset_flowrun(1)).status;
SELECT (flowcontrol.execute_flowrun(1)).status;
SELECT flowcontrol.evaluate('a|add:1', '{"a": 1}');
SELECT flowcontrol.validate_expression('a == 1');
SELECT flowcontrol.export_flow(:flow_id) IS NOT NULL AS exported;
SELECT flowcontrol.define_flow(flowcontrol.export_flow(:flow_id)) IS NOT NULL AS redefined;
SELECT flowcontrol.deactivate_flow(:flow_id);
SELECT flowcontrol.activate_flow(:flow_id);
SELECT runs FROM flowcontrol.flow_stats ORDER BY runs;
SELECT count(*) FROM flowcontrol.runnable_runs;
SELECT flowcontrol.detach_trigger('public.parcel', 'parcel_saved');

-- not one trap was sprung
RESET search_path;
SELECT what, count(*) FROM trap.calls GROUP BY what ORDER BY what;
SET client_min_messages = warning;
DROP SCHEMA trap CASCADE;
