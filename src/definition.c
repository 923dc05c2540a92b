/*-------------------------------------------------------------------------
 *
 * definition.c
 *	  The checks that run when flows, actions and triggers are saved, and
 *	  define_flow()/add_action().
 *
 * Flows, actions and triggers are written by users directly or through
 * define_flow()/add_action(), under row-level security; the BEFORE ROW
 * trigger here validates each row (expressions as validate_expression()
 * does, action configs, tree shape, object tables) with the seed's
 * messages, naming where the error is.  define_flow() and add_action()
 * call the install script's PL/pgSQL through call_internal(), which raises
 * its errors afresh without the internals' CONTEXT lines; define_flow()
 * checks each action and condition first (_check_action, _check_condition)
 * so that errors name their place in the document.
 *
 * The registries themselves (register_/unregister_ action, trigger,
 * filter) are registry.c's, which uses the checks exported here; this file
 * calls nothing of registry.c's.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/formatting.h"
#include "utils/guc.h"
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

static void
spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
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
void
fc_definition_check_expression(const char *source, const char *what)
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
void
fc_definition_check_action(const char *action, Jsonb *config, const char *where)
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
	fc_definition_check_action(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							   PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1),
							   text_to_cstring(PG_GETARG_TEXT_PP(2)));
	PG_RETURN_VOID();
}

/*
 * Is name in the trigger-name registry (flowcontrol.trigger_type)?  Read
 * afresh as the extension owner, not from the trigger cache: a name
 * registered earlier in this transaction counts.  Caller is connected to
 * SPI.
 */
bool
fc_definition_trigger_registered(const char *name)
{
	static FcQuery exists_q = {
		"SELECT 1 FROM flowcontrol.trigger_type WHERE name = $1", 1, {TEXTOID}
	};
	Datum		arg = CStringGetTextDatum(name);

	fc_catalog_exec(&exists_q, &arg, NULL, 1);
	return SPI_processed > 0;
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
	exists = fc_definition_trigger_registered(name);
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
	fc_definition_check_expression(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								   psprintf("in key \"condition\" of %s", text_to_cstring(PG_GETARG_TEXT_PP(1))));
	PG_RETURN_VOID();
}

static char *
text_column(TriggerData *td, HeapTuple tuple, const char *name)
{
	bool		isnull;
	Datum		d = fc_catalog_trigger_column(td, tuple, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static int64
id_column(TriggerData *td, HeapTuple tuple, const char *name)
{
	bool		isnull;
	Datum		d = fc_catalog_trigger_column(td, tuple, name, &isnull);

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
	old_value = fc_catalog_trigger_column(td, td->tg_trigtuple, name, &old_null);
	new_value = fc_catalog_trigger_column(td, tuple, name, &new_null);
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

	d = fc_catalog_trigger_column(td, tuple, "timeout", &isnull);
	if (!isnull && column_is_new(td, tuple, "timeout"))
		(void) fc_policy_timeout_ms(DatumGetIntervalP(d), action, where);
	d = fc_catalog_trigger_column(td, tuple, "retry", &isnull);
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

	d = fc_catalog_trigger_column(td, tuple, "config", &isnull);
	if (!isnull && (column_is_new(td, tuple, "config") || column_is_new(td, tuple, "action")))
	{
		config = DatumGetJsonbP(d);
		fc_definition_check_action(action, config, where);
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
	if (name == NULL || !fc_definition_trigger_registered(name))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Trigger %s is not registered", name ? name : "(null)"),
				 errdetail("The trigger is trigger %lld of flow %lld.",
						   (long long) id_column(td, tuple, "id"),
						   (long long) id_column(td, tuple, "flow_id")),
				 errhint("Register it with flowcontrol.register_trigger() or flowcontrol.attach_trigger().")));
	SPI_finish();
	fc_trigger_check_binding(td, tuple, name);

	create_flow = DatumGetBool(fc_catalog_trigger_column(td, tuple, "create_flow", &isnull));
	if (create_flow && id_column(td, tuple, "flow_id") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("a trigger that creates flow runs needs a flow"),
				 errhint("Set flow_id, or create_flow to false for a trigger that only wakes waiting runs.")));
	if (column_is_new(td, tuple, "condition"))
		fc_definition_check_expression(text_column(td, tuple, "condition"),
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
	d = fc_catalog_trigger_column(td, tuple, "flow_version", &isnull);
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
		int32		old_version = DatumGetInt32(fc_catalog_trigger_column(td, td->tg_trigtuple,
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
	Datum		d = fc_catalog_trigger_column(td, tuple, "version", &isnull);

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
		Datum		table = fc_catalog_trigger_column(td, tuple, "object_table", &isnull);

		check_flow_version(td, tuple);
		if (column_is_new(td, tuple, "condition"))
			fc_definition_check_expression(text_column(td, tuple, "condition"),
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
