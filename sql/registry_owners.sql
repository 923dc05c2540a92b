-- Taking a registration back: only its owner (or a member of the owner's
-- role, or a superuser) may, and each registry's refusals keep their order
-- around the owner check: a built-in action is refused as built in to
-- anyone; a registration in use is refused as someone else's to a
-- non-owner, and as in use to its owner.
CREATE ROLE regress_reg_owner;
CREATE ROLE regress_reg_other;
GRANT USAGE ON SCHEMA flowcontrol TO regress_reg_owner, regress_reg_other;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA flowcontrol TO regress_reg_owner, regress_reg_other;
GRANT SELECT, INSERT, UPDATE, DELETE ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger
	TO regress_reg_owner;
CREATE FUNCTION reg_action(run flowcontrol.flow_run, obj jsonb, config jsonb)
	RETURNS flowcontrol.directive LANGUAGE sql AS $$ SELECT 'continue'::flowcontrol.directive $$;
CREATE FUNCTION reg_filter(value jsonb, arg jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT value $$;
GRANT EXECUTE ON FUNCTION reg_action(flowcontrol.flow_run, jsonb, jsonb), reg_filter(jsonb, jsonb)
	TO regress_reg_owner;

SET ROLE regress_reg_owner;
SELECT flowcontrol.register_action('RegOwned', 'reg_action(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_action('RegUsed', 'reg_action(flowcontrol.flow_run,jsonb,jsonb)');
SELECT flowcontrol.register_trigger('reg_owned');
SELECT flowcontrol.register_filter('reg_owned', 'reg_filter(jsonb,jsonb)');
SELECT flowcontrol.define_flow('{"name": "reg_flow", "actions": [{"action": "RegUsed"}]}') > 0 AS defined;
RESET ROLE;

-- another role: refused, in the seed's words where there are any
SET ROLE regress_reg_other;
SELECT try($$SELECT flowcontrol.unregister_action('IfAction')$$);
SELECT try($$SELECT flowcontrol.unregister_action('RegOwned')$$);
SELECT try($$SELECT flowcontrol.unregister_action('RegUsed')$$);
SELECT try($$SELECT flowcontrol.unregister_action('RegNone')$$);
SELECT try($$SELECT flowcontrol.unregister_trigger('reg_owned')$$);
SELECT try($$SELECT flowcontrol.unregister_trigger('reg_none')$$);
SELECT try($$SELECT flowcontrol.unregister_filter('reg_owned')$$);
SELECT try($$SELECT flowcontrol.unregister_filter('reg_none')$$);
RESET ROLE;
SELECT (SELECT count(*) FROM flowcontrol.action_type WHERE name LIKE 'Reg%') AS actions,
	(SELECT count(*) FROM flowcontrol.trigger_type WHERE name = 'reg_owned') AS triggers,
	(SELECT count(*) FROM flowcontrol.filter WHERE name = 'reg_owned') AS filters;

-- the owner: refused while in use, then taken back
SET ROLE regress_reg_owner;
SELECT try($$SELECT flowcontrol.unregister_action('RegUsed')$$);
SELECT flowcontrol.unregister_action('RegOwned');
SELECT flowcontrol.unregister_trigger('reg_owned');
SELECT flowcontrol.unregister_filter('reg_owned');
SELECT flowcontrol.delete_flow(id) FROM flowcontrol.flow WHERE name = 'reg_flow';
SELECT flowcontrol.unregister_action('RegUsed');
RESET ROLE;
SELECT (SELECT count(*) FROM flowcontrol.action_type WHERE name LIKE 'Reg%') AS actions,
	(SELECT count(*) FROM flowcontrol.trigger_type WHERE name = 'reg_owned') AS triggers,
	(SELECT count(*) FROM flowcontrol.filter WHERE name = 'reg_owned') AS filters;

DROP FUNCTION reg_action(flowcontrol.flow_run, jsonb, jsonb), reg_filter(jsonb, jsonb);
REVOKE ALL ON flowcontrol.flow, flowcontrol.flow_action, flowcontrol.trigger FROM regress_reg_owner;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA flowcontrol FROM regress_reg_owner, regress_reg_other;
REVOKE ALL ON SCHEMA flowcontrol FROM regress_reg_owner, regress_reg_other;
DROP ROLE regress_reg_owner, regress_reg_other;
