/*-------------------------------------------------------------------------
 *
 * definition.c
 *	  The registries (actions, trigger names, filters) and the checks that
 *	  run when flows, actions and triggers are saved.
 *
 * Registrations are written as the extension owner and record the role
 * that made them, so the registry tables need no privileges beyond
 * SELECT for application roles, and only the registering role (or a
 * superuser) can take a registration back.  Flows, actions and triggers
 * are written by users directly or through define_flow()/add_action(),
 * under row-level security; the BEFORE ROW trigger here validates each row
 * (expressions as validate_expression() does, action configs, tree shape,
 * object tables) with the seed's messages, naming where the error is.
 * define_flow() and add_action() call the install script's PL/pgSQL through
 * call_internal(), which raises its errors afresh without the internals'
 * CONTEXT lines; define_flow() checks each action and condition first
 * (_check_action, _check_condition) so that errors name their place in the
 * document.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/formatting.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "action_policy.h"
#include "actions.h"
#include "catalog.h"
#include "compat.h"
#include "definition.h"
#include "engine.h"
#include "expr.h"
#include "flowcache.h"
#include "objects.h"
#include "trigger_acl.h"
#include "versions.h"

#define FC_MAX_NAME_LENGTH 100

/*
 * Check a registry name with the seed's messages; kind is "Action" or
 * "Trigger".
 */
static void
check_registry_name(const char *kind, const char *name)
{
	if (name == NULL || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s name cannot be empty", kind)));
	if (pg_mbstrlen(name) > FC_MAX_NAME_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("%s name is too long, must be less than %d characters",
						kind, FC_MAX_NAME_LENGTH + 1)));
}

static char *
text_arg_or(FunctionCallInfo fcinfo, int argno, const char *dflt)
{
	if (PG_ARGISNULL(argno))
		return dflt ? pstrdup(dflt) : NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static void
spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/*
 * Does a row with this name exist in the given registry?  Caller is
 * connected to SPI.
 */
static bool
registry_has(FcQuery *q, const char *name)
{
	Datum		arg = CStringGetTextDatum(name);

	fc_catalog_exec(q, &arg, NULL, 1);
	return SPI_processed > 0;
}

/*
 * Is fn's signature (arg types, result) one a function of the given kind
 * may have?  The caller supplies the expected IN types and either a plain
 * result type or, for the INOUT form, the OUT type.
 */
static bool
signature_is(HeapTuple proctup, int nin, const Oid *intypes, Oid rettype,
			 Oid inout_outtype)
{
	Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(proctup);
	Oid		   *types;
	char	  **names;
	char	   *modes;
	int			nall;
	int			i;

	if (proc->proretset || proc->pronargs != nin)
		return false;
	for (i = 0; i < nin; i++)
		if (proc->proargtypes.values[i] != intypes[i])
			return false;

	nall = get_func_arg_info(proctup, &types, &names, &modes);

	if (OidIsValid(rettype))
		return modes == NULL && proc->prorettype == rettype;

	/* INOUT form: (INOUT run, IN obj, IN config, OUT directive) */
	if (modes == NULL || nall != nin + 1 || proc->prorettype != RECORDOID)
		return false;
	if (modes[0] != PROARGMODE_INOUT || types[nin] != inout_outtype ||
		modes[nin] != PROARGMODE_OUT)
		return false;
	for (i = 1; i < nin; i++)
		if (modes[i] != PROARGMODE_IN)
			return false;
	return true;
}

/*
 * Check that fn may serve as an action's run or return hook, and that the
 * caller may execute it.  Returns its qualified signature.
 */
static char *
check_action_function(Oid fn, const char *which)
{
	HeapTuple	proctup;
	Oid			runtype = fc_catalog_type("flow_run");
	Oid			dirtype = fc_catalog_type("directive");
	Oid			intypes[3] = {runtype, JSONBOID, JSONBOID};
	bool		ok;
	AclResult	aclresult;

	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(proctup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function with OID %u does not exist", fn)));
	ok = signature_is(proctup, 3, intypes, dirtype, InvalidOid) ||
		signature_is(proctup, 3, intypes, InvalidOid, dirtype);
	ReleaseSysCache(proctup);

	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
				 errmsg("%s function %s does not have the signature of an action function",
						which, format_procedure(fn)),
				 errhint("An action function is f(run flowcontrol.flow_run, obj jsonb, config jsonb) RETURNS flowcontrol.directive, "
						 "or f(INOUT run flowcontrol.flow_run, obj jsonb, config jsonb, OUT directive flowcontrol.directive).")));

	aclresult = object_aclcheck(ProcedureRelationId, fn, GetUserId(), ACL_EXECUTE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FUNCTION, get_func_name(fn));

	return format_procedure_qualified(fn);
}

/*
 * register_action(name, run_function, return_function, has_children,
 *				   label, description, action_group)
 */
PG_FUNCTION_INFO_V1(flowcontrol_register_action);
Datum
flowcontrol_register_action(PG_FUNCTION_ARGS)
{
	static FcQuery exists_q = {
		"SELECT 1 FROM flowcontrol.action_type WHERE name = $1", 1, {TEXTOID}
	};
	static FcQuery insert_q = {
		"INSERT INTO flowcontrol.action_type (name, run_function, return_function, has_children,"
		" label, description, action_group, builtin, owner)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8::oid::pg_catalog.regrole)",
		8, {TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, OIDOID}
	};
	char	   *name = text_arg_or(fcinfo, 0, NULL);
	char	   *run_sig;
	char	   *return_sig = NULL;
	bool		has_children = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	char	   *label;
	char	   *description = text_arg_or(fcinfo, 5, "");
	char	   *group = text_arg_or(fcinfo, 6, NULL);
	Datum		values[8];
	char		nulls[] = "        ";

	check_registry_name("Action", name);
	label = text_arg_or(fcinfo, 4, name);

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("action %s needs a run function", name)));
	run_sig = check_action_function(PG_GETARG_OID(1), "run");
	if (!PG_ARGISNULL(2))
		return_sig = check_action_function(PG_GETARG_OID(2), "return");

	spi_connect();
	if (registry_has(&exists_q, name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("Action %s is already registered", name)));

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(run_sig);
	if (return_sig)
		values[2] = CStringGetTextDatum(return_sig);
	else
		nulls[2] = 'n';
	values[3] = BoolGetDatum(has_children);
	values[4] = CStringGetTextDatum(label);
	values[5] = CStringGetTextDatum(description);
	if (group)
		values[6] = CStringGetTextDatum(group);
	else
		nulls[6] = 'n';
	values[7] = ObjectIdGetDatum(GetUserId());
	fc_catalog_exec(&insert_q, values, nulls, 0);
	SPI_finish();

	PG_RETURN_VOID();
}

/*
 * Check that the current user may change a registration owned by owner.
 */
static void
check_registration_owner(const char *kind, const char *name, Oid owner)
{
	if (!superuser() && !is_member_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be a member of role \"%s\" to unregister %s %s",
						GetUserNameFromId(owner, false), kind, name)));
}

/*
 * The registration of name in a registry, as lookup_q (by name, $1) reads
 * it; an error in the seed's words if there is none.  Caller is connected
 * to SPI; the row is in SPI_tuptable.
 */
static HeapTuple
registration(FcQuery *lookup_q, const char *kind, const char *name)
{
	Datum		arg = CStringGetTextDatum(name);

	fc_catalog_exec(lookup_q, &arg, NULL, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s %s is not registered", kind, name)));
	return SPI_tuptable->vals[0];
}

/* Column col of a row registration() read. */
static Datum
registration_value(HeapTuple row, int col)
{
	bool		isnull;

	return SPI_getbinval(row, SPI_tuptable->tupdesc, col, &isnull);
}

/*
 * unregister_action(name)
 */
PG_FUNCTION_INFO_V1(flowcontrol_unregister_action);
Datum
flowcontrol_unregister_action(PG_FUNCTION_ARGS)
{
	static FcQuery lookup_q = {
		"SELECT builtin, owner::oid, (SELECT pg_catalog.count(*) FROM flowcontrol.flow_action a"
		" WHERE a.action = t.name) FROM flowcontrol.action_type t WHERE name = $1 FOR UPDATE",
		1, {TEXTOID}
	};
	static FcQuery delete_q = {
		"DELETE FROM flowcontrol.action_type WHERE name = $1", 1, {TEXTOID}
	};
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		arg = CStringGetTextDatum(name);
	HeapTuple	row;
	bool		builtin;
	Oid			owner;
	int64		uses;

	spi_connect();
	row = registration(&lookup_q, "Action", name);
	builtin = DatumGetBool(registration_value(row, 1));
	owner = DatumGetObjectId(registration_value(row, 2));
	uses = DatumGetInt64(registration_value(row, 3));

	if (builtin)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("action \"%s\" is built in and cannot be unregistered", name)));
	check_registration_owner("action", name, owner);
	if (uses > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg_plural("action \"%s\" is still used by %lld flow action",
							   "action \"%s\" is still used by %lld flow actions",
							   uses, name, (long long) uses),
				 errhint("Delete those flow actions first.")));

	fc_catalog_exec(&delete_q, &arg, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * register_trigger(name, object_table, label, description)
 */
static void
register_trigger(FunctionCallInfo fcinfo, Oid owner)
{
	char	   *name = text_arg_or(fcinfo, 0, NULL);

	check_registry_name("Trigger", name);
	spi_connect();
	if (fc_registry_trigger_exists(name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("Trigger %s is already registered", name)));
	fc_registry_add_trigger(name,
							PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1),
							text_arg_or(fcinfo, 2, ""),
							text_arg_or(fcinfo, 3, ""),
							owner);
	SPI_finish();
}

PG_FUNCTION_INFO_V1(flowcontrol_register_trigger);
Datum
flowcontrol_register_trigger(PG_FUNCTION_ARGS)
{
	register_trigger(fcinfo, GetUserId());
	PG_RETURN_VOID();
}

/*
 * _register_trigger(name, object_table, label, description, owner): for
 * attach_trigger(), which registers a name for the table's owner.
 */
PG_FUNCTION_INFO_V1(flowcontrol__register_trigger);
Datum
flowcontrol__register_trigger(PG_FUNCTION_ARGS)
{
	Oid			owner = PG_ARGISNULL(4) ? GetUserId() : PG_GETARG_OID(4);

	if (!is_member_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be a member of role \"%s\" to register a trigger name for it",
						GetUserNameFromId(owner, false))));
	register_trigger(fcinfo, owner);
	PG_RETURN_VOID();
}

bool
fc_registry_trigger_exists(const char *name)
{
	static FcQuery exists_q = {
		"SELECT 1 FROM flowcontrol.trigger_type WHERE name = $1", 1, {TEXTOID}
	};

	return registry_has(&exists_q, name);
}

void
fc_registry_add_trigger(const char *name, Oid object_table,
						const char *label, const char *description, Oid owner)
{
	static FcQuery insert_q = {
		"INSERT INTO flowcontrol.trigger_type (name, object_table, label, description, owner)"
		" VALUES ($1, $2::pg_catalog.oid::pg_catalog.regclass, $3, $4, $5::pg_catalog.oid::pg_catalog.regrole)",
		5, {TEXTOID, OIDOID, TEXTOID, TEXTOID, OIDOID}
	};
	Datum		values[5];
	char		nulls[] = "     ";

	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(object_table);
	if (!OidIsValid(object_table))
		nulls[1] = 'n';
	values[2] = CStringGetTextDatum(label);
	values[3] = CStringGetTextDatum(description);
	values[4] = ObjectIdGetDatum(owner);
	fc_catalog_exec(&insert_q, values, nulls, 0);
}

/*
 * register_filter(name, function)
 */
PG_FUNCTION_INFO_V1(flowcontrol_register_filter);
Datum
flowcontrol_register_filter(PG_FUNCTION_ARGS)
{
	static FcQuery exists_q = {
		"SELECT 1 FROM flowcontrol.filter WHERE name = $1", 1, {TEXTOID}
	};
	static FcQuery insert_q = {
		"INSERT INTO flowcontrol.filter (name, function, owner)"
		" VALUES ($1, $2, $3::pg_catalog.oid::pg_catalog.regrole)",
		3, {TEXTOID, TEXTOID, OIDOID}
	};
	char	   *name = text_arg_or(fcinfo, 0, NULL);
	Oid			fn;
	HeapTuple	proctup;
	Oid			intypes[2] = {JSONBOID, JSONBOID};
	bool		ok;
	AclResult	aclresult;
	Datum		values[3];
	const char *p;

	if (name == NULL || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("filter name cannot be empty")));
	if (strlen(name) > FC_MAX_NAME_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("filter name is too long, must be less than %d characters",
						FC_MAX_NAME_LENGTH + 1)));
	for (p = name; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
			  (p > name && *p >= '0' && *p <= '9')))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid filter name \"%s\"", name),
					 errdetail("A filter name consists of letters, digits and underscores and does not start with a digit.")));
	}
	if (fc_expr_is_builtin_filter(name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("filter \"%s\" is built in", name)));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("filter %s needs a function", name)));

	fn = PG_GETARG_OID(1);
	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(proctup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function with OID %u does not exist", fn)));
	ok = signature_is(proctup, 2, intypes, JSONBOID, InvalidOid);
	ReleaseSysCache(proctup);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
				 errmsg("function %s does not have the signature of a filter function",
						format_procedure(fn)),
				 errhint("A filter function is f(value jsonb, arg jsonb) RETURNS jsonb.")));
	aclresult = object_aclcheck(ProcedureRelationId, fn, GetUserId(), ACL_EXECUTE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FUNCTION, get_func_name(fn));

	spi_connect();
	if (registry_has(&exists_q, name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("filter \"%s\" is already registered", name)));
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(format_procedure_qualified(fn));
	values[2] = ObjectIdGetDatum(GetUserId());
	fc_catalog_exec(&insert_q, values, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * unregister_trigger(name): refused while flows are bound to the name
 * (flowcontrol.trigger rows, which runs may wait for) or a table fires it.
 */
PG_FUNCTION_INFO_V1(flowcontrol_unregister_trigger);
Datum
flowcontrol_unregister_trigger(PG_FUNCTION_ARGS)
{
	static FcQuery lookup_q = {
		"SELECT owner::pg_catalog.oid,"
		" (SELECT pg_catalog.count(*) FROM flowcontrol.trigger b WHERE b.trigger_name = n.name),"
		" (SELECT pg_catalog.string_agg(t.tgrelid::pg_catalog.regclass::pg_catalog.text, ', '"
		"  ORDER BY t.tgrelid::pg_catalog.regclass::pg_catalog.text)"
		"  FROM pg_catalog.pg_trigger t"
		"  WHERE t.tgfoid = 'flowcontrol.fire()'::pg_catalog.regprocedure AND t.tgnargs >= 1"
		"  AND pg_catalog.substring(t.tgargs, 1, pg_catalog.length(pg_catalog.convert_to(n.name,"
		"   pg_catalog.getdatabaseencoding())) + 1)"
		"   = pg_catalog.convert_to(n.name, pg_catalog.getdatabaseencoding()) OPERATOR(pg_catalog.||) '\\x00'::pg_catalog.bytea)"
		" FROM flowcontrol.trigger_type n WHERE n.name = $1 FOR UPDATE",
		1, {TEXTOID}
	};
	static FcQuery delete_q = {
		"DELETE FROM flowcontrol.trigger_type WHERE name = $1", 1, {TEXTOID}
	};
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		arg = CStringGetTextDatum(name);
	HeapTuple	row;
	Oid			owner;
	int64		bindings;
	char	   *tables;

	spi_connect();
	row = registration(&lookup_q, "Trigger", name);
	owner = DatumGetObjectId(registration_value(row, 1));
	bindings = DatumGetInt64(registration_value(row, 2));
	tables = SPI_getvalue(row, SPI_tuptable->tupdesc, 3);

	check_registration_owner("trigger", name, owner);
	if (bindings > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg_plural("trigger \"%s\" is still bound to %lld flow",
							   "trigger \"%s\" is still bound to %lld flows",
							   bindings, name, (long long) bindings),
				 errhint("Remove the bindings first: deploy the flows without the trigger, or delete their rows from flowcontrol.trigger.")));
	if (tables != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("trigger \"%s\" is still fired by table %s", name, tables),
				 errhint("Remove the table triggers with flowcontrol.detach_trigger() first.")));

	/* its grants go with it (ON DELETE CASCADE) */
	fc_catalog_exec(&delete_q, &arg, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

static void check_expression(const char *source, const char *what);
static void check_action(const char *action, Jsonb *config, const char *where);

/*
 * Where the saved expressions use a filter: "the condition of flow 3",
 * "action 7 of flow 3", ..., or NULL.  Reads every flow's, trigger's and
 * built-in action's expressions (of all owners and versions) as the
 * extension owner.  Caller is connected to SPI.
 */
static char *
filter_used_at(const char *name)
{
	static FcQuery flows_q = {
		"SELECT id, condition FROM flowcontrol.flow WHERE condition <> '' ORDER BY id", 0, {InvalidOid}
	};
	static FcQuery triggers_q = {
		"SELECT id, flow_id, condition FROM flowcontrol.trigger WHERE condition <> '' ORDER BY id", 0, {InvalidOid}
	};
	static FcQuery actions_q = {
		"SELECT a.id, a.flow_id, a.action, a.config FROM flowcontrol.flow_action a"
		" JOIN flowcontrol.action_type t ON t.name = a.action WHERE t.builtin ORDER BY a.id",
		0, {InvalidOid}
	};
	char	   *volatile used = NULL;

	fc_expr_probe_filter(name);
	PG_TRY();
	{
		SPITupleTable *tt;
		uint64		n;
		uint64		i;
		bool		isnull;

		fc_catalog_exec(&flows_q, NULL, NULL, 0);
		tt = SPI_tuptable;
		n = SPI_processed;
		for (i = 0; i < n && used == NULL; i++)
		{
			int64		id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));

			check_expression(SPI_getvalue(tt->vals[i], tt->tupdesc, 2), "");
			if (fc_expr_probe_hit())
				used = psprintf("the condition of flow %lld", (long long) id);
		}
		fc_catalog_exec(&triggers_q, NULL, NULL, 0);
		tt = SPI_tuptable;
		n = SPI_processed;
		for (i = 0; i < n && used == NULL; i++)
		{
			int64		id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));

			check_expression(SPI_getvalue(tt->vals[i], tt->tupdesc, 3), "");
			if (fc_expr_probe_hit())
				used = psprintf("the condition of trigger %lld (of flow %s)", (long long) id,
								SPI_getvalue(tt->vals[i], tt->tupdesc, 2));
		}
		fc_catalog_exec(&actions_q, NULL, NULL, 0);
		tt = SPI_tuptable;
		n = SPI_processed;
		for (i = 0; i < n && used == NULL; i++)
		{
			char	   *where = psprintf("action %s of flow %s",
										 SPI_getvalue(tt->vals[i], tt->tupdesc, 1),
										 SPI_getvalue(tt->vals[i], tt->tupdesc, 2));

			check_action(SPI_getvalue(tt->vals[i], tt->tupdesc, 3),
						 DatumGetJsonbP(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull)),
						 where);
			if (fc_expr_probe_hit())
				used = where;
		}
	}
	PG_FINALLY();
	{
		fc_expr_probe_filter(NULL);
	}
	PG_END_TRY();
	return used;
}

/*
 * unregister_filter(name): refused while an expression saved in a flow,
 * trigger or action (of any version) uses it.
 */
PG_FUNCTION_INFO_V1(flowcontrol_unregister_filter);
Datum
flowcontrol_unregister_filter(PG_FUNCTION_ARGS)
{
	static FcQuery lookup_q = {
		"SELECT owner::pg_catalog.oid FROM flowcontrol.filter WHERE name = $1 FOR UPDATE", 1, {TEXTOID}
	};
	static FcQuery delete_q = {
		"DELETE FROM flowcontrol.filter WHERE name = $1", 1, {TEXTOID}
	};
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		arg = CStringGetTextDatum(name);
	char	   *used;

	spi_connect();
	check_registration_owner("filter", name,
							 DatumGetObjectId(registration_value(registration(&lookup_q, "Filter", name), 1)));
	used = filter_used_at(name);
	if (used != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("filter \"%s\" is still used by %s", name, used),
				 errhint("Remove it from the expressions of flows, triggers and actions first; earlier versions of flows count while runs use them.")));
	fc_catalog_exec(&delete_q, &arg, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * Validation of saved definitions
 * ---------------------------------------------------------------------
 */
/*
 * Check a condition being saved as validate_expression() checks it, unknown
 * filter names included (except while a dump is restored, with
 * check_function_bodies off, when filters may come later).  Errors say
 * what it is the condition of: "invalid condition of flow "x": ...".
 */
static void
check_expression(const char *source, const char *what)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (source == NULL || source[0] == '\0')
		return;
	PG_TRY();
	{
		FcExpr	   *expr = fc_expr_get(source);

		if (check_function_bodies)
			fc_expr_check_filters(expr);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		fc_actions_rethrow_placed(psprintf("invalid condition %s", what), NULL);
	}
	PG_END_TRY();
}

/*
 * "Action NAME is not registered" (the seed's message), saying where the
 * action is, with a hint of registered names close to NAME.
 */
static void
action_not_registered(const char *name, const char *where)
{
	static FcQuery names_q = {
		"SELECT name FROM flowcontrol.action_type ORDER BY name", 0, {InvalidOid}
	};
	char	   *lname = asc_tolower(name, strlen(name));
	StringInfoData close;
	int			best[3] = {INT_MAX, INT_MAX, INT_MAX};
	char	   *best_name[3] = {NULL, NULL, NULL};
	int			nlen = strlen(lname);
	uint64		i;
	int			j;

	spi_connect();
	fc_catalog_exec(&names_q, NULL, NULL, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *cand = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *lcand = asc_tolower(cand, strlen(cand));
		int			clen = strlen(lcand);
		int			d;

		if (nlen > 100 || clen > 100)
			continue;
		d = varstr_levenshtein(lname, nlen, lcand, clen, 1, 1, 1, true);
		/* "Delay" for "DelayAction": a prefix is close, whatever its length */
		if (d > 3 && !(nlen >= 3 && strncmp(lname, lcand, Min(nlen, clen)) == 0))
			continue;
		for (j = 0; j < 3; j++)
			if (d < best[j])
			{
				memmove(&best[j + 1], &best[j], (2 - j) * sizeof(int));
				memmove(&best_name[j + 1], &best_name[j], (2 - j) * sizeof(char *));
				best[j] = d;
				best_name[j] = pstrdup(cand);
				break;
			}
	}
	SPI_finish();

	initStringInfo(&close);
	for (j = 0; j < 3 && best_name[j] != NULL; j++)
		appendStringInfo(&close, "%s\"%s\"", j == 0 ? "" : ", ", best_name[j]);
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("Action %s is not registered", name),
			 errdetail("The action is at %s.", where),
			 close.len > 0 ?
			 errhint("Registered actions with similar names: %s.", close.data) :
			 errhint("Register it with flowcontrol.register_action(); flowcontrol.action_type lists the registered actions.")));
}

/* Check an action being saved at "where": registered, and a valid config. */
static void
check_action(const char *action, Jsonb *config, const char *where)
{
	const FcActionType *type = fc_catalog_get_action_type(action);

	if (type == NULL)
		action_not_registered(action, where);
	if (config != NULL)
		fc_actions_validate_config(action, type->kind != FC_ACTION_USER, config, where);
}

/*
 * _check_action(action text, config jsonb, location text): define_flow()
 * checks each action before it inserts it, so that errors name the
 * action's place in the document ("actions[1].children[0]").
 */
PG_FUNCTION_INFO_V1(flowcontrol__check_action);
Datum
flowcontrol__check_action(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_VOID();
	check_action(text_to_cstring(PG_GETARG_TEXT_PP(0)),
				 PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1),
				 text_to_cstring(PG_GETARG_TEXT_PP(2)));
	PG_RETURN_VOID();
}

/*
 * _check_trigger(trigger_name text, location text): a trigger of a flow
 * document ("triggers[0]") names a registered trigger.
 */
PG_FUNCTION_INFO_V1(flowcontrol__check_trigger);
Datum
flowcontrol__check_trigger(PG_FUNCTION_ARGS)
{
	char	   *name;
	bool		exists;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	spi_connect();
	exists = fc_registry_trigger_exists(name);
	SPI_finish();
	if (!exists)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Trigger %s is not registered", name),
				 errdetail("The trigger is at %s.", text_to_cstring(PG_GETARG_TEXT_PP(1))),
				 errhint("Register it with flowcontrol.register_trigger() or flowcontrol.attach_trigger().")));
	PG_RETURN_VOID();
}

/*
 * _check_condition(condition text, location text): the same for the
 * conditions of a flow document ("flow definition", "triggers[0]").
 */
PG_FUNCTION_INFO_V1(flowcontrol__check_condition);
Datum
flowcontrol__check_condition(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();
	check_expression(text_to_cstring(PG_GETARG_TEXT_PP(0)),
					 psprintf("in key \"condition\" of %s", text_to_cstring(PG_GETARG_TEXT_PP(1))));
	PG_RETURN_VOID();
}

Datum
fc_definition_column(TriggerData *td, HeapTuple tuple, const char *name, bool *isnull)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "column \"%s\" not found", name);
	return heap_getattr(tuple, attnum, desc, isnull);
}

static char *
text_column(TriggerData *td, HeapTuple tuple, const char *name)
{
	bool		isnull;
	Datum		d = fc_definition_column(td, tuple, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static int64
id_column(TriggerData *td, HeapTuple tuple, const char *name)
{
	bool		isnull;
	Datum		d = fc_definition_column(td, tuple, name, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * Is the column new: an INSERT, or an UPDATE that changes it?  Saved
 * expressions and tables are checked only then, so that a flow whose
 * filter or table changed later can still be deactivated or edited.
 */
static bool
column_is_new(TriggerData *td, HeapTuple tuple, const char *name)
{
	bool		old_null;
	bool		new_null;
	Datum		old_value;
	Datum		new_value;
	Form_pg_attribute att;

	if (!TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		return true;
	att = TupleDescAttr(RelationGetDescr(td->tg_relation),
						SPI_fnumber(RelationGetDescr(td->tg_relation), name) - 1);
	old_value = fc_definition_column(td, td->tg_trigtuple, name, &old_null);
	new_value = fc_definition_column(td, tuple, name, &new_null);
	if (old_null || new_null)
		return old_null != new_null;
	return !datumIsEqual(old_value, new_value, att->attbyval, att->attlen);
}

/* An action's timeout and retry policy, when new (action_policy.c). */
static void
check_action_policy(TriggerData *td, HeapTuple tuple, const char *action,
					const char *where)
{
	bool		isnull;
	Datum		d;

	d = fc_definition_column(td, tuple, "timeout", &isnull);
	if (!isnull && column_is_new(td, tuple, "timeout"))
		(void) fc_policy_timeout_ms(DatumGetIntervalP(d), action, where);
	d = fc_definition_column(td, tuple, "retry", &isnull);
	if (!isnull && column_is_new(td, tuple, "retry"))
		(void) fc_policy_retry(DatumGetJsonbP(d), action, where);
}

static void
check_flow_action(TriggerData *td, HeapTuple tuple)
{
	/* another role's action is one that does not exist */
	static FcQuery parent_q = {
		"SELECT a.flow_id, a.action, a.parent_id FROM flowcontrol.flow_action a"
		" JOIN flowcontrol.flow f ON f.id = a.flow_id"
		" WHERE a.id = $1 AND pg_catalog.pg_has_role($2, f.owner::pg_catalog.oid, 'MEMBER')",
		2, {INT8OID, OIDOID}
	};
	char	   *action = text_column(td, tuple, "action");
	int64		id = id_column(td, tuple, "id");
	int64		flow_id = id_column(td, tuple, "flow_id");
	int64		parent_id = id_column(td, tuple, "parent_id");
	const FcActionType *type = fc_catalog_get_action_type(action);
	char	   *where = psprintf("action " INT64_FORMAT " of flow " INT64_FORMAT, id, flow_id);
	bool		isnull;
	Datum		d;
	Jsonb	   *config;
	int			depth = 0;

	if (type == NULL)
		action_not_registered(action, where);

	if (parent_id != 0)
	{
		Datum		args[2] = {Int64GetDatum(parent_id), ObjectIdGetDatum(GetUserId())};
		const FcActionType *parent_type;
		char	   *parent_action;
		int64		ancestor;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		fc_catalog_exec(&parent_q, args, NULL, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("parent action %lld does not exist", (long long) parent_id)));
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) != flow_id)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("Cannot add child action to a different flow")));
		parent_action = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		parent_type = fc_catalog_get_action_type(parent_action);
		if (parent_type == NULL || !parent_type->has_children)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("Cannot add child action to %s", parent_action)));

		/* no cycles when an action is moved */
		ancestor = parent_id;
		while (ancestor != 0 && id != 0)
		{
			if (ancestor == id)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
						 errmsg("action %lld cannot be its own ancestor", (long long) id)));
			if (++depth > 10000)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("action tree of flow %lld is too deep", (long long) flow_id)));
			args[0] = Int64GetDatum(ancestor);
			fc_catalog_exec(&parent_q, args, NULL, 1);
			if (SPI_processed == 0)
				break;
			ancestor = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
			if (isnull)
				ancestor = 0;
		}
		SPI_finish();
	}

	d = fc_definition_column(td, tuple, "config", &isnull);
	if (!isnull && (column_is_new(td, tuple, "config") || column_is_new(td, tuple, "action")))
	{
		config = DatumGetJsonbP(d);
		check_action(action, config, where);
		if (type->kind == FC_ACTION_WAIT_FOR_TRIGGER)
			fc_trigger_check_wait_config(td, flow_id, config);
	}
	check_action_policy(td, tuple, action, where);
}

static void
check_trigger(TriggerData *td, HeapTuple tuple)
{
	char	   *name = text_column(td, tuple, "trigger_name");
	bool		create_flow;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (name == NULL || !fc_registry_trigger_exists(name))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Trigger %s is not registered", name ? name : "(null)"),
				 errdetail("The trigger is trigger %lld of flow %lld.",
						   (long long) id_column(td, tuple, "id"),
						   (long long) id_column(td, tuple, "flow_id")),
				 errhint("Register it with flowcontrol.register_trigger() or flowcontrol.attach_trigger().")));
	SPI_finish();
	fc_trigger_check_binding(td, tuple, name);

	create_flow = DatumGetBool(fc_definition_column(td, tuple, "create_flow", &isnull));
	if (create_flow && id_column(td, tuple, "flow_id") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("a trigger that creates flow runs needs a flow"),
				 errhint("Set flow_id, or create_flow to false for a trigger that only wakes waiting runs.")));
	if (column_is_new(td, tuple, "condition"))
		check_expression(text_column(td, tuple, "condition"),
						 psprintf("of trigger " INT64_FORMAT " \"%s\"", id_column(td, tuple, "id"), name));
}

/*
 * Set while _new_version() makes a new version current: the only change of
 * flow.version allowed.
 */
static bool deploying = false;

/* The flow's current version, or 0 if there is no such flow. */
static int32
current_version(int64 flow_id)
{
	int32		version;

	spi_connect();
	version = fc_catalog_current_version(flow_id);
	SPI_finish();
	return version;
}

static void
version_read_only(int64 flow_id, int32 version, int32 current)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("version %d of flow %lld is read-only", version, (long long) flow_id),
			 errdetail("The flow is at version %d; the actions of earlier versions are kept unchanged for the runs that execute them.",
					   current),
			 errhint("Change the current version, or deploy a new one with flowcontrol.define_flow(..., replace => true).")));
}

/*
 * An action's flow_version: the flow's current version when omitted;
 * earlier versions are read-only (a dump restores them, with
 * check_function_bodies off), and no action moves between versions.
 */
static HeapTuple
check_action_version(TriggerData *td, HeapTuple tuple)
{
	int64		flow_id = id_column(td, tuple, "flow_id");
	int32		current;
	int32		version;
	bool		isnull;
	Datum		d;

	if (flow_id == 0 || (current = current_version(flow_id)) == 0)
		return tuple;			/* for the constraints to report */
	d = fc_definition_column(td, tuple, "flow_version", &isnull);
	if (isnull)
	{
		int			attnum = SPI_fnumber(RelationGetDescr(td->tg_relation), "flow_version");
		Datum		value = Int32GetDatum(current);
		bool		value_isnull = false;

		tuple = heap_modify_tuple_by_cols(tuple, RelationGetDescr(td->tg_relation),
										  1, &attnum, &value, &value_isnull);
		version = current;
	}
	else
		version = DatumGetInt32(d);

	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		int32		old_version = DatumGetInt32(fc_definition_column(td, td->tg_trigtuple,
																	 "flow_version", &isnull));

		if (!isnull && old_version != version)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("the version of action %lld cannot be changed",
							(long long) id_column(td, tuple, "id"))));
		if (!isnull && old_version < current)
			version_read_only(flow_id, old_version, current);
	}
	else if (version > current)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("flow %lld has no version %d", (long long) flow_id, version),
				 errdetail("The flow is at version %d.", current)));
	else if (version < current && check_function_bodies)
		version_read_only(flow_id, version, current);
	return tuple;
}

/* flow.version: 1 for a new flow, changed only by deploys. */
static void
check_flow_version(TriggerData *td, HeapTuple tuple)
{
	bool		isnull;
	Datum		d = fc_definition_column(td, tuple, "version", &isnull);

	if (isnull || deploying)
		return;
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		if (column_is_new(td, tuple, "version"))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("the version of flow %lld is changed only by deploying it",
							(long long) id_column(td, tuple, "id")),
					 errhint("Deploy a new version with flowcontrol.define_flow(..., replace => true).")));
	}
	else if (DatumGetInt32(d) != 1 && check_function_bodies)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("a new flow starts at version 1")));
}

/* Does the row have a NULL in a column declared NOT NULL? */
static bool
has_null_in_not_null_column(Relation rel, HeapTuple tuple)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attnotnull && !att->attisdropped &&
			heap_attisnull(tuple, i + 1, desc))
			return true;
	}
	return false;
}

/*
 * flowcontrol_check_definition: BEFORE INSERT OR UPDATE ROW trigger on
 * flow, flow_action and trigger.
 */
PG_FUNCTION_INFO_V1(flowcontrol_check_definition);
Datum
flowcontrol_check_definition(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	const char *relname;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "flowcontrol_check_definition: not called as a row trigger");
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	relname = RelationGetRelationName(td->tg_relation);

	/* filled in before the NOT NULL check below */
	if (strcmp(relname, "flow_action") == 0)
		tuple = check_action_version(td, tuple);

	/*
	 * BEFORE ROW triggers run before NOT NULL constraints are checked: a NULL
	 * in a NOT NULL column is left for the constraint to report, and the
	 * checks below never see one.
	 */
	if (has_null_in_not_null_column(td->tg_relation, tuple))
		return PointerGetDatum(tuple);

	if (strcmp(relname, "flow") == 0)
	{
		char	   *name = text_column(td, tuple, "name");

		bool		isnull;
		Datum		table = fc_definition_column(td, tuple, "object_table", &isnull);

		check_flow_version(td, tuple);
		if (column_is_new(td, tuple, "condition"))
			check_expression(text_column(td, tuple, "condition"),
							 psprintf("of flow \"%s\"", name ? name : ""));

		/*
		 * Runs attach rows by a primary key of one column: refuse a table
		 * without one now, not when a run is created.  A dump restores
		 * primary keys after the data, with check_function_bodies off.
		 */
		if (!isnull && check_function_bodies && column_is_new(td, tuple, "object_table"))
			(void) fc_catalog_object_key(DatumGetObjectId(table), NULL);
		if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		{
			int			attnum = SPI_fnumber(RelationGetDescr(td->tg_relation), "updated_at");
			Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
			bool		now_isnull = false;

			tuple = heap_modify_tuple_by_cols(tuple, RelationGetDescr(td->tg_relation),
											  1, &attnum, &now, &now_isnull);
		}
	}
	else if (strcmp(relname, "flow_action") == 0)
		check_flow_action(td, tuple);
	else if (strcmp(relname, "trigger") == 0)
		check_trigger(td, tuple);

	return PointerGetDatum(tuple);
}

/* ---------------------------------------------------------------------
 * define_flow() and add_action()
 * ---------------------------------------------------------------------
 */

/*
 * Run one of the install script's internal functions (a kept plan of a
 * SELECT returning bigint) as the caller, and return its result.  An error
 * it raises is raised again without the CONTEXT lines of the PL/pgSQL
 * functions and SQL statements it went through (they name internals, not
 * the user's input; errors here name what was wrong in the input), with
 * the caller's own context.  Query cancel and shutdown are re-thrown.
 */
static int64
call_internal(SPIPlanPtr *plan, const char *sql, int nargs, Oid *types,
			  Datum *values, const char *nulls, bool *isnull)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile int64 result = 0;

	PG_TRY();
	{
		spi_connect();
		if (*plan == NULL)
		{
			SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

			if (p == NULL || SPI_keepplan(p) != 0)
				elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
					 SPI_result_code_string(SPI_result));
			*plan = p;
		}
		if (SPI_execute_plan(*plan, values, nulls, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "\"%s\" returned no row", sql);
		result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, isnull));
		SPI_finish();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION)
			PG_RE_THROW();
		FlushErrorState();
		/* raised afresh here: the callers' context lines are added again */
		ereport(ERROR,
				(errcode(edata->sqlerrcode),
				 errmsg_internal("%s", edata->message),
				 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
				 edata->hint ? errhint("%s", edata->hint) : 0,
				 edata->schema_name ? err_generic_string(PG_DIAG_SCHEMA_NAME, edata->schema_name) : 0,
				 edata->table_name ? err_generic_string(PG_DIAG_TABLE_NAME, edata->table_name) : 0,
				 edata->column_name ? err_generic_string(PG_DIAG_COLUMN_NAME, edata->column_name) : 0,
				 edata->constraint_name ? err_generic_string(PG_DIAG_CONSTRAINT_NAME, edata->constraint_name) : 0));
	}
	PG_END_TRY();
	return result;
}

/*
 * define_flow(definition jsonb, replace boolean) returns bigint:
 * _define_flow() does the work; "object_table" is resolved here, in the
 * caller's search path.  A deploy (replace) holds a lock on the flow's
 * name until the transaction ends, so that concurrent deploys of a new
 * name never create it twice.
 */
PG_FUNCTION_INFO_V1(flowcontrol_define_flow);
Datum
flowcontrol_define_flow(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {JSONBOID, BOOLOID};
	Datum		values[2];
	char		nulls[] = "  ";
	bool		isnull;
	bool		replace = PG_NARGS() > 1 && !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	int64		id;

	if (PG_ARGISNULL(0))
		nulls[0] = 'n';
	else
	{
		Jsonb	   *doc = PG_GETARG_JSONB_P(0);
		JsonbValue	key;
		JsonbValue *name;

		values[0] = PointerGetDatum(doc);
		key.type = jbvString;
		key.val.string.val = "name";
		key.val.string.len = 4;
		if (replace && JB_ROOT_IS_OBJECT(doc) && !JB_ROOT_IS_SCALAR(doc) &&
			(name = findJsonbValueFromContainer(&doc->root, JB_FOBJECT, &key)) != NULL &&
			name->type == jbvString)
			fc_engine_lock_flow_name(pnstrdup(name->val.string.val, name->val.string.len));
	}
	values[1] = BoolGetDatum(replace);
	id = call_internal(&plan,
					   "SELECT flowcontrol._define_flow($1,"
					   " CASE WHEN pg_catalog.jsonb_typeof($1 OPERATOR(pg_catalog.->) 'object_table')"
					   " OPERATOR(pg_catalog.=) 'string'"
					   " THEN ($1 OPERATOR(pg_catalog.->>) 'object_table')::pg_catalog.regclass END, $2)",
					   2, types, values, nulls, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}

/*
 * _new_version(flow_id, definition) returns integer: keep the current
 * version of a flow the caller may see (its document in flow_version; its
 * actions stay) and make the next one current.
 */
PG_FUNCTION_INFO_V1(flowcontrol__new_version);
Datum
flowcontrol__new_version(PG_FUNCTION_ARGS)
{
	static FcQuery keep_q = {
		"INSERT INTO flowcontrol.flow_version (flow_id, version, definition)"
		" SELECT id, version, $2 FROM flowcontrol.flow WHERE id = $1",
		2, {INT8OID, JSONBOID}
	};
	static FcQuery bump_q = {
		"UPDATE flowcontrol.flow SET version = version + 1 WHERE id = $1 RETURNING version",
		1, {INT8OID}
	};
	int64		flow_id = PG_GETARG_INT64(0);
	Datum		args[2] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)};
	bool		isnull;
	int32		version;

	spi_connect();
	fc_engine_check_visible(fc_catalog_get_flow(flow_id), "flow", flow_id);
	fc_catalog_exec(&keep_q, args, NULL, 0);
	deploying = true;
	PG_TRY();
	{
		fc_catalog_exec(&bump_q, args, NULL, 1);
	}
	PG_FINALLY();
	{
		deploying = false;
	}
	PG_END_TRY();
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT32(version);
}

/* _prune_versions(flow_id) returns integer: fc_catalog_prune_versions(). */
PG_FUNCTION_INFO_V1(flowcontrol__prune_versions);
Datum
flowcontrol__prune_versions(PG_FUNCTION_ARGS)
{
	int64		flow_id = PG_GETARG_INT64(0);
	int			n;

	spi_connect();
	fc_engine_check_visible(fc_catalog_get_flow(flow_id), "flow", flow_id);
	n = fc_catalog_prune_versions(flow_id);
	SPI_finish();
	PG_RETURN_INT32(n);
}

/*
 * add_action(flow_id, action, config, parent_id, description, timeout,
 * retry) returns bigint: _add_action() does the work.
 */
PG_FUNCTION_INFO_V1(flowcontrol_add_action);
Datum
flowcontrol_add_action(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[7] = {INT8OID, TEXTOID, JSONBOID, INT8OID, TEXTOID, INTERVALOID, JSONBOID};
	Datum		values[7];
	char		nulls[] = "       ";
	bool		isnull;
	int64		id;
	int			i;

	for (i = 0; i < 7; i++)
	{
		if (PG_ARGISNULL(i))
			nulls[i] = 'n';
		else
			values[i] = PG_GETARG_DATUM(i);
	}
	id = call_internal(&plan,
					   "SELECT flowcontrol._add_action($1, $2, $3, $4, $5, $6, $7)",
					   7, types, values, nulls, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}
