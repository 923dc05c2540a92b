/*-------------------------------------------------------------------------
 *
 * action_user.c
 *	  Calling a user action: an SQL function, with the run as a
 *	  flowcontrol.flow_run composite.
 *
 * User actions are SQL functions called through fmgr with the run as a
 * flowcontrol.flow_run composite; the INOUT form may change a fixed set of
 * run columns.  The function is found by its stored signature (cached per
 * backend) and runs as the flow owner, in the subtransaction the engine
 * opened for the hook.
 *
 * This file owns that call and what a user action may change on the run;
 * it must not reach the engine other than through engine_actions.h.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "actions.h"
#include "actions_int.h"
#include "catalog.h"
#include "compat.h"
#include "engine_actions.h"
#include "trigger_acl.h"

/* ---------------------------------------------------------------------
 * User actions
 * ---------------------------------------------------------------------
 */
typedef struct FcFunctionEntry
{
	char		signature[NAMEDATALEN * 8];
	Oid			fn;
} FcFunctionEntry;

static HTAB *function_cache = NULL;

/* The function with this stored signature, or InvalidOid. */
static Oid
resolve_signature(const char *signature)
{
	FcFunctionEntry *entry;
	bool		found;
	Datum		d;
	Oid			fn;

	LOCAL_FCINFO(lookup, 1);

	if (strlen(signature) >= NAMEDATALEN * 8)
		return InvalidOid;
	if (function_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN * 8;
		ctl.entrysize = sizeof(FcFunctionEntry);
		function_cache = hash_create("flowcontrol action functions", 16, &ctl,
									 HASH_ELEM | HASH_STRINGS);
	}
	entry = hash_search(function_cache, signature, HASH_FIND, &found);
	if (found && SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(entry->fn)))
		return entry->fn;

	/* to_regprocedure(): NULL rather than an error when it is gone */
	InitFunctionCallInfoData(*lookup, NULL, 1, InvalidOid, NULL, NULL);
	lookup->args[0].value = CStringGetTextDatum(signature);
	lookup->args[0].isnull = false;
	d = to_regprocedure(lookup);
	if (lookup->isnull)
		return InvalidOid;
	fn = DatumGetObjectId(d);
	entry = hash_search(function_cache, signature, HASH_ENTER, NULL);
	entry->fn = fn;
	return fn;
}

static void
check_unchanged(const char *action, const char *column, bool same)
{
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action %s changed column \"%s\" of its run, which actions may not change",
						action, column),
				 errhint("Actions may change state, continue_after, waiting_trigger_id, waiting_trigger_match_object, repeat_action and log.")));
}

FcDirective
fc_actions_call_user(FcExec *exec, FcAction *a, bool returning)
{
	const char *signature = returning ? a->type->return_signature : a->type->run_signature;
	FcRun	   *run = exec->run;
	char	   *log_at_call;
	Oid			fn;
	FmgrInfo	flinfo;
	Datum		result;
	bool		isnull;
	Oid			dirtype = fc_catalog_type("directive");

	LOCAL_FCINFO(fcinfo, 3);

	if (signature == NULL)
	{
		if (returning)
			return FC_DIR_CONTINUE;
		fn = InvalidOid;
	}
	else
		fn = resolve_signature(signature);
	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("Action %s is missing or not found", a->type->name)));

	fc_catalog_check_execute(fn);
	fmgr_info(fn, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 3, InvalidOid, NULL, NULL);
	run->status = FC_STATUS_RUNNING;
	log_at_call = pstrdup(run->log ? run->log : "");
	fcinfo->args[0].value = fc_run_to_datum(run);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = exec->object ? JsonbPGetDatum(exec->object) : (Datum) 0;
	fcinfo->args[1].isnull = exec->object == NULL;
	fcinfo->args[2].value = JsonbPGetDatum(a->config);
	fcinfo->args[2].isnull = false;

	/*
	 * A STRICT function is not called with a NULL argument (the object of a
	 * run without one): as the executor would, take its result as NULL, which
	 * like any NULL result means continue.
	 */
	if (flinfo.fn_strict && fcinfo->args[1].isnull)
		return FC_DIR_CONTINUE;
	InvokeFunctionExecuteHook(fn);
	result = FunctionCallInvoke(fcinfo);
	isnull = fcinfo->isnull;
	if (isnull)
		return FC_DIR_CONTINUE;

	if (get_func_rettype(fn) == dirtype)
		return (FcDirective) fc_catalog_enum_value(FC_ENUM_DIRECTIVE, DatumGetObjectId(result));

	/* INOUT form: (run flow_run, directive directive) */
	{
		HeapTupleHeader td = DatumGetHeapTupleHeader(result);
		TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(td),
													 HeapTupleHeaderGetTypMod(td));
		HeapTupleData tmptup;
		Datum		values[2];
		bool		nulls[2];
		FcDirective d = FC_DIR_CONTINUE;

		if (tupdesc->natts != 2)
			elog(ERROR, "action %s returned %d columns, expected 2", a->type->name, tupdesc->natts);
		tmptup.t_len = HeapTupleHeaderGetDatumLength(td);
		ItemPointerSetInvalid(&(tmptup.t_self));
		tmptup.t_tableOid = InvalidOid;
		tmptup.t_data = td;
		heap_deform_tuple(&tmptup, tupdesc, values, nulls);
		ReleaseTupleDesc(tupdesc);

		if (!nulls[1])
			d = (FcDirective) fc_catalog_enum_value(FC_ENUM_DIRECTIVE, DatumGetObjectId(values[1]));
		if (!nulls[0])
		{
			FcRun	   *out = fc_run_from_datum(values[0]);

			check_unchanged(a->type->name, "id", out->id == run->id);
			check_unchanged(a->type->name, "flow_id", out->flow_id == run->flow_id);
			check_unchanged(a->type->name, "parent_run_id", out->parent_run_id == run->parent_run_id);
			check_unchanged(a->type->name, "trigger_id", out->trigger_id == run->trigger_id);
			check_unchanged(a->type->name, "action_id", out->action_id == run->action_id);
			check_unchanged(a->type->name, "status", out->status == run->status);
			check_unchanged(a->type->name, "outcome", out->outcome == run->outcome);
			check_unchanged(a->type->name, "created_at", out->created_at == run->created_at);
			check_unchanged(a->type->name, "done_at", out->has_done_at == run->has_done_at &&
							(!out->has_done_at || out->done_at == run->done_at));
			check_unchanged(a->type->name, "object_table", out->object_table == run->object_table);
			check_unchanged(a->type->name, "attempt", out->attempt == run->attempt);
			check_unchanged(a->type->name, "object_id",
							(out->object_id == NULL) == (run->object_id == NULL) &&
							(out->object_id == NULL || strcmp(out->object_id, run->object_id) == 0));

			if (out->state != NULL &&
				(!JB_ROOT_IS_OBJECT(out->state) || JB_ROOT_IS_SCALAR(out->state)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("action %s set the run state to a value that is not a JSON object",
								a->type->name)));
			fc_exec_set_state(exec, out->state ? out->state : fc_empty_object());
			run->has_continue_after = out->has_continue_after;
			run->continue_after = out->continue_after;
			/* a trigger the owner may not wait for is one that does not exist */
			if (out->waiting_trigger_id != 0 && out->waiting_trigger_id != run->waiting_trigger_id)
				(void) fc_trigger_check_wait(out->waiting_trigger_id, exec->flow->owner);
			run->waiting_trigger_id = out->waiting_trigger_id;
			run->waiting_trigger_match_object = out->waiting_trigger_match_object;
			run->repeat_action = out->repeat_action;
			{
				/*
				 * Lines the action added with append_log() on its own run
				 * went to exec->run while it ran; keep them after the log it
				 * returned.
				 */
				size_t		len = strlen(log_at_call);
				const char *added = NULL;

				if (strcmp(run->log, log_at_call) != 0 &&
					strncmp(run->log, log_at_call, len) == 0)
				{
					added = run->log + len;
					if (*added == '\n')
						added++;
				}
				/* those lines carry their times already */
				fc_exec_set_log(exec, fc_log_append(out->log ? out->log : "", added),
								NULL, true);
			}
		}
		return d;
	}
}
