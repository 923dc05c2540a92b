/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  The registries: register_action(), register_trigger(),
 *	  register_filter() and their unregister_ counterparts.
 *
 * Registrations are written as the extension owner and record the role
 * that made them, so the registry tables (action_type, trigger_type,
 * filter) need no privileges beyond SELECT for application roles, and only
 * the registering role (or a superuser) can take a registration back.
 * Taking one back is refused, in the seed's words, while something still
 * uses it: flow actions an action type, flows or table triggers a trigger
 * name, saved expressions a filter.  Every unregister_ goes through
 * unregister(): read and lock the registration, the registry's checks,
 * the owner check, delete.
 *
 * Only SQL-callable functions are exported; the file has no header.  It
 * calls catalog.c's prepared queries and definition.c's checks (a filter
 * is in use where a saved expression would fail to validate without it),
 * and nothing calls into it: definition.c must not include anything of
 * this file's.  Everything here runs inside the caller's transaction and
 * memory context; the only locks are the lookups' FOR UPDATE row locks.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "compat.h"
#include "definition.h"
#include "expr.h"
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
 * A check of unregister(): raise the registry's own error if the
 * registration read into row (by name) must not be taken back.
 */
typedef void (*FcRegistrationCheck) (const char *name, HeapTuple row);

/*
 * Take back the registration of name in a registry (kind "Action",
 * "Trigger" or "Filter"): read and lock it with lookup_q (by name, $1; an
 * error in the seed's words if there is none), run the registry's check
 * before (when not NULL), check that the current user may change a
 * registration of the owner in column owner_col, run the check after, and
 * delete it with delete_q (by name, $1).
 */
static void
unregister(FcQuery *lookup_q, FcQuery *delete_q, const char *kind, int owner_col,
		   FcRegistrationCheck before, FcRegistrationCheck after, const char *name)
{
	Datum		arg = CStringGetTextDatum(name);
	HeapTuple	row;

	spi_connect();
	row = registration(lookup_q, kind, name);
	if (before != NULL)
		before(name, row);
	check_registration_owner(asc_tolower(kind, strlen(kind)), name,
							 DatumGetObjectId(registration_value(row, owner_col)));
	after(name, row);
	fc_catalog_exec(delete_q, &arg, NULL, 0);
	SPI_finish();
}

/* A built-in action (column 1 of unregister_action's lookup) stays. */
static void
refuse_builtin_action(const char *name, HeapTuple row)
{
	if (DatumGetBool(registration_value(row, 1)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("action \"%s\" is built in and cannot be unregistered", name)));
}

/* An action that flow actions use (their count in column 3) stays. */
static void
refuse_used_action(const char *name, HeapTuple row)
{
	int64		uses = DatumGetInt64(registration_value(row, 3));

	if (uses > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg_plural("action \"%s\" is still used by %lld flow action",
							   "action \"%s\" is still used by %lld flow actions",
							   uses, name, (long long) uses),
				 errhint("Delete those flow actions first.")));
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

	unregister(&lookup_q, &delete_q, "Action", 2, refuse_builtin_action, refuse_used_action,
			   text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/* Add a trigger name to the registry; the caller is connected to SPI. */
static void
registry_add_trigger(const char *name, Oid object_table,
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
 * register_trigger(name, object_table, label, description)
 */
static void
register_trigger(FunctionCallInfo fcinfo, Oid owner)
{
	char	   *name = text_arg_or(fcinfo, 0, NULL);

	check_registry_name("Trigger", name);
	spi_connect();
	if (fc_definition_trigger_registered(name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("Trigger %s is already registered", name)));
	registry_add_trigger(name,
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
 * A trigger name stays while flows are bound to it (their count in column
 * 2 of unregister_trigger's lookup) or tables fire it (column 3).
 */
static void
refuse_used_trigger(const char *name, HeapTuple row)
{
	int64		bindings = DatumGetInt64(registration_value(row, 2));
	char	   *tables = SPI_getvalue(row, SPI_tuptable->tupdesc, 3);

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

	/* its grants go with it (ON DELETE CASCADE) */
	unregister(&lookup_q, &delete_q, "Trigger", 1, NULL, refuse_used_trigger,
			   text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

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

			fc_definition_check_expression(SPI_getvalue(tt->vals[i], tt->tupdesc, 2), "");
			if (fc_expr_probe_hit())
				used = psprintf("the condition of flow %lld", (long long) id);
		}
		fc_catalog_exec(&triggers_q, NULL, NULL, 0);
		tt = SPI_tuptable;
		n = SPI_processed;
		for (i = 0; i < n && used == NULL; i++)
		{
			int64		id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));

			fc_definition_check_expression(SPI_getvalue(tt->vals[i], tt->tupdesc, 3), "");
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

			fc_definition_check_action(SPI_getvalue(tt->vals[i], tt->tupdesc, 3),
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

/* A filter that a saved expression uses stays. */
static void
refuse_used_filter(const char *name, HeapTuple row)
{
	char	   *used = filter_used_at(name);

	if (used != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("filter \"%s\" is still used by %s", name, used),
				 errhint("Remove it from the expressions of flows, triggers and actions first; earlier versions of flows count while runs use them.")));
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

	unregister(&lookup_q, &delete_q, "Filter", 1, NULL, refuse_used_filter,
			   text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}
