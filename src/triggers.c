/*-------------------------------------------------------------------------
 *
 * triggers.c
 *	  trigger_flows(), the fire() table trigger, attach/detach.
 *
 * Trigger names have owners (trigger_acl.c): only a member of a name's
 * owner may fire it (trigger_flows() as the caller, fire() as the table's
 * owner), and a firing considers only the bindings, and wakes only the
 * waiting runs, of roles the owner has admitted; the others are skipped
 * before their condition, limits or reset are looked at, so they can
 * neither run code in the firing transaction nor make it fail.  Each
 * trigger's condition is evaluated as its flow's owner, runs are created
 * and written as the extension owner, and executed (when immediate) as
 * their owner, so a role that only writes to a table with a flow trigger
 * needs no rights on flowcontrol's tables and never borrows an owner's
 * rights.
 *
 * fire() is on the write path of user tables, so the common cases are
 * cheap: the triggers of a name come from a per-backend cache, and with no
 * active trigger fire() returns before connecting to SPI; the object row
 * is turned into jsonb only when some active trigger has a condition.
 *
 * fire() stays an AFTER ... FOR EACH ROW trigger, and the runs of one
 * statement's rows share one flow_run insert state (relation, indexes,
 * executor state) kept in fire()'s fn_extra: it lives in the statement's
 * executor memory, and a memory context callback closes it when that
 * memory goes at ExecutorEnd (runs.c).  So no executor hook is needed,
 * and statements that fire no flow trigger run no flowcontrol code.  The
 * other option the design was measured against, a statement-level trigger
 * with a transition table that creates the runs in one batch, was not
 * taken: capturing the rows alone (a do-nothing C statement trigger with
 * REFERENCING NEW TABLE) cost 1.04-1.05x a do-nothing C row trigger in
 * bench/run triggers (stmt_vs_noop), so it saves nothing on the idle path
 * (fire() with nothing listening measured 0.91-0.93x the do-nothing row
 * trigger), while runs would still be created, limit-checked and indexed
 * one per row -- the index inserts and the per-object limit lookup are
 * what a run costs (bench/README-triggers.md has the profile).  And it
 * would change fire()'s contract: users' own FOR EACH ROW triggers with
 * WHEN clauses or UPDATE OF columns, deferred constraint triggers, and the
 * per-row order of immediate execution.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "clock.h"
#include "compat.h"
#include "engine.h"
#include "expr.h"
#include "flowcache.h"
#include "objects.h"
#include "owner.h"
#include "runs.h"
#include "trigger_acl.h"
#include "wakeup.h"

/* What is being fired. */
typedef struct FcFiring
{
	const char *name;
	Oid			object_table;	/* InvalidOid: no object */
	char	   *object_id;
	Jsonb	   *state;			/* given state, or NULL */
	bool		immediate;
	Oid			firer;			/* the caller, or fire()'s table's owner */

	/* fire(): the rows at hand; trigger_flows(): fetched per owner */
	Relation	rel;
	HeapTuple	new_tuple;		/* NEW (OLD for DELETE) */
	HeapTuple	old_tuple;		/* OLD for UPDATE and DELETE, else NULL */
	const char *tg_op;

	/* the object as jsonb, for the owner it was read as */
	Oid			object_owner;
	bool		object_read;
	Jsonb	   *object;
	Jsonb	   *old;
} FcFiring;

/* ---------------------------------------------------------------------
 * Rows as jsonb
 * ---------------------------------------------------------------------
 */
typedef struct FcRowJson
{
	Oid			relid;			/* hash key */
	FmgrInfo	flinfo;			/* to_jsonb(anyelement) set up for the rowtype */
} FcRowJson;

static HTAB *row_json_cache = NULL;

static Jsonb *
row_to_jsonb(Relation rel, HeapTuple tuple)
{
	Oid			relid = RelationGetRelid(rel);
	FcRowJson  *entry;
	bool		found;
	Datum		row;

	if (row_json_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(FcRowJson);
		row_json_cache = hash_create("flowcontrol row to jsonb", 16, &ctl,
									 HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(row_json_cache, &relid, HASH_ENTER, &found);
	if (!found || entry->flinfo.fn_expr == NULL ||
		exprType(linitial(((FuncExpr *) entry->flinfo.fn_expr)->args)) != rel->rd_rel->reltype)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		FuncExpr   *expr;

		fmgr_info_cxt(F_TO_JSONB, &entry->flinfo, TopMemoryContext);
		/* to_jsonb() reads its argument's type from fn_expr */
		expr = makeFuncExpr(F_TO_JSONB, JSONBOID,
							list_make1(makeNullConst(rel->rd_rel->reltype, -1, InvalidOid)),
							InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		entry->flinfo.fn_expr = (Node *) expr;
		MemoryContextSwitchTo(old);
	}
	row = heap_copy_tuple_as_datum(tuple, RelationGetDescr(rel));
	return DatumGetJsonbP(FunctionCall1(&entry->flinfo, row));
}

/* May role read every row and column of rel without row-level security? */
static bool
reads_whole_table(Relation rel, Oid role)
{
	if (pg_class_aclcheck(RelationGetRelid(rel), role, ACL_SELECT) != ACLCHECK_OK)
		return false;
	if (!rel->rd_rel->relrowsecurity)
		return true;
	return superuser_arg(role) || has_bypassrls_privilege(role) ||
		(rel->rd_rel->relowner == role && !rel->rd_rel->relforcerowsecurity);
}

/*
 * The object (and old row) as owner sees them, for trigger conditions.
 */
static void
read_object(FcFiring *f, Oid owner)
{
	if (f->object_read && f->object_owner == owner)
		return;
	f->object = NULL;
	f->old = NULL;
	f->object_owner = owner;
	f->object_read = true;
	if (!OidIsValid(f->object_table))
		return;

	if (f->rel != NULL)
	{
		if (!reads_whole_table(f->rel, owner))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("role \"%s\" cannot read table \"%s\" for the condition of trigger %s",
							GetUserNameFromId(owner, false),
							RelationGetRelationName(f->rel), f->name),
					 errdetail("Trigger conditions see the row as the flow owner; the owner needs SELECT on the table, and row-level security must not hide rows from it.")));
		f->object = row_to_jsonb(f->rel, f->new_tuple);
		if (f->old_tuple)
			f->old = row_to_jsonb(f->rel, f->old_tuple);
	}
	else
	{
		FcOwnerEnv	env;

		fc_owner_enter(&env, owner);
		f->object = fc_catalog_fetch_object(f->object_table, f->object_id);
		fc_owner_leave(&env);
	}
}

/* The context a trigger condition sees. */
static Jsonb *
condition_context(FcFiring *f)
{
	Jsonb	   *base = fc_engine_context(f->state, f->object);
	JsonbInState ps = {0};
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;
	JsonbValue *res;

	if (f->tg_op == NULL)
		return base;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	it = JsonbIteratorInit(&base->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &v, true);
		pushJsonbValue(&ps, WJB_KEY, &k);
		pushJsonbValue(&ps, WJB_VALUE, &v);
	}
	k.type = jbvString;
	k.val.string.val = "old";
	k.val.string.len = 3;
	if (f->old)
	{
		v.type = jbvBinary;
		v.val.binary.data = &f->old->root;
		v.val.binary.len = VARSIZE(f->old) - VARHDRSZ;
	}
	else
		v.type = jbvNull;
	pushJsonbValue(&ps, WJB_KEY, &k);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	k.val.string.val = "tg_op";
	k.val.string.len = 5;
	v.type = jbvString;
	v.val.string.val = (char *) f->tg_op;
	v.val.string.len = strlen(f->tg_op);
	pushJsonbValue(&ps, WJB_KEY, &k);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	res = ps.result;
	return JsonbValueToJsonb(res);
}

static bool
condition_holds(FcFiring *f, const FcTrigger *t)
{
	FcUserSwitch save;
	bool		holds;

	if (t->condition[0] == '\0')
		return true;
	read_object(f, t->owner);
	fc_catalog_become(&save, t->owner);
	holds = fc_expr_condition(t->condition, condition_context(f));
	fc_catalog_restore(&save);
	return holds;
}

/* Waiting runs woken by trigger t (locked, in id order). */
static List *
wake_waiting(FcFiring *f, const FcTrigger *t)
{
	static FcQuery q = {
		"SELECT * FROM flowcontrol.flow_run"
		" WHERE waiting_trigger_id = $1 AND status = 'waiting'"
		" AND (continue_after IS NULL OR continue_after OPERATOR(pg_catalog.<=)"
		" CASE WHEN $7 OR EXISTS (SELECT FROM flowcontrol.flow f WHERE f.id = flow_id"
		" AND pg_catalog.pg_has_role($6, f.owner::pg_catalog.oid, 'MEMBER')) THEN $5 ELSE $4 END)"
		" AND (NOT waiting_trigger_match_object"
		" OR (object_table IS NOT DISTINCT FROM $2::pg_catalog.oid::pg_catalog.regclass"
		" AND object_id IS NOT DISTINCT FROM $3))"
		" AND EXISTS (SELECT FROM flowcontrol.flow f WHERE f.id = flow_run.flow_id"
		" AND pg_catalog.pg_has_role(f.owner::pg_catalog.oid, $8, 'MEMBER'))"
		" ORDER BY id FOR NO KEY UPDATE",
		8, {INT8OID, OIDOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, OIDOID, BOOLOID, OIDOID}
	};
	Datum		args[8];
	char		nulls[] = "        ";
	List	   *runs = NIL;
	uint64		i;

	/*
	 * Only runs whose owner may see the trigger (a member of its owner, who
	 * is admitted to the name, and so admitted too): a user action may have
	 * set waiting_trigger_id to any id before checks existed.
	 */
	args[7] = ObjectIdGetDatum(t->owner);
	args[0] = Int64GetDatum(t->id);
	if (OidIsValid(f->object_table))
	{
		args[1] = ObjectIdGetDatum(f->object_table);
		args[2] = CStringGetTextDatum(f->object_id);
	}
	else
		nulls[1] = nulls[2] = 'n';

	/*
	 * Due by the session's moved clock for runs of owners the session user is
	 * a member of (as fc_now() decides), by the real clock for others; $7
	 * spares the test while the clock is not moved.
	 */
	args[3] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	args[4] = TimestampTzGetDatum(fc_now_moved());
	args[5] = ObjectIdGetDatum(GetSessionUserId());
	args[6] = BoolGetDatum(!fc_clock_shifted() || superuser_arg(GetSessionUserId()));
	fc_catalog_exec(&q, args, nulls, 0);
	for (i = 0; i < SPI_processed; i++)
		runs = lappend(runs, fc_run_from_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc));
	return runs;
}

/*
 * Fire a trigger name; returns the runs created, reset or woken (executed
 * when immediate).  Caller is connected to SPI.
 */
static List *
fire_triggers(FcFiring *f, FcTriggerList *cached)
{
	List	   *result = NIL;
	FcTrigger  *triggers;
	int			n = 0;
	int			i;

	if (!cached->registered)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Trigger %s is not registered", f->name)));
	if (!fc_trigger_may_fire(cached, f->firer))
	{
		char	   *owner = GetUserNameFromId(cached->owner, true);
		char	   *firer = GetUserNameFromId(f->firer, true);

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to fire trigger name \"%s\"", f->name),
				 f->rel ?
				 errdetail("Table \"%s\" belongs to role \"%s\", which is not a member of role \"%s\", the owner of the trigger name.",
						   RelationGetRelationName(f->rel), firer ? firer : "?",
						   owner ? owner : "?") :
				 errdetail("Only members of role \"%s\", the owner of the trigger name, may fire it.",
						   owner ? owner : "?")));
	}

	/*
	 * Copy the active bindings of admitted roles: user code below may change
	 * definitions.  The others are never looked at.
	 */
	triggers = palloc(sizeof(FcTrigger) * Max(cached->ntriggers, 1));
	for (i = 0; i < cached->ntriggers; i++)
	{
		if (!fc_trigger_is_active(&cached->triggers[i]) ||
			!fc_trigger_admits(cached, cached->triggers[i].owner))
			continue;
		triggers[n] = cached->triggers[i];
		triggers[n].condition = pstrdup(cached->triggers[i].condition);
		n++;
	}

	for (i = 0; i < n; i++)
	{
		FcTrigger  *t = &triggers[i];

		if (!condition_holds(f, t))
			continue;

		if (t->create_flow)
		{
			FcRun	   *run = fc_engine_create_run(t->flow_id, f->object_table, f->object_id,
												   f->state, 0, t->id, t->reset_to_action_id,
												   f->rel ? FC_CREATE_OBJECT_LOCKED | FC_CREATE_OBJECT_ADMITTED :
												   FC_CREATE_SKIP_UNADMITTED);

			if (run == NULL)
				continue;
			if (f->immediate)
				run = fc_engine_execute_locked(run, FC_DEFAULT_MAX_HOT_LOOP);
			if (run != NULL)
				result = lappend(result, run);
		}
		else
		{
			ListCell   *lc;

			foreach(lc, wake_waiting(f, t))
			{
				FcRun	   *run = (FcRun *) lfirst(lc);

				if (f->immediate)
					run = fc_engine_execute_locked(run, FC_DEFAULT_MAX_HOT_LOOP);
				else
				{
					run->waiting_trigger_id = 0;
					run->has_continue_after = true;
					run->continue_after = fc_now_for_flow(run->flow_id);
					fc_catalog_write_run(run);
					fc_wakeup_at_commit(0);
				}
				if (run != NULL)
					result = lappend(result, run);
			}
		}
	}
	return result;
}

/*
 * trigger_flows(trigger_name, object_table, object_id, state, immediate)
 *		returns setof flow_run
 */
PG_FUNCTION_INFO_V1(flowcontrol_trigger_flows);
Datum
flowcontrol_trigger_flows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FcFiring	f;
	Oid			caller = GetUserId();
	bool		is_super = superuser();
	List	   *runs;
	ListCell   *lc;
	MemoryContext caller_cxt;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("trigger_name must not be NULL")));

	InitMaterializedSRF(fcinfo, 0);

	memset(&f, 0, sizeof(f));
	f.name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	f.object_table = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
	f.object_id = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (OidIsValid(f.object_table) != (f.object_id != NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("object_table and object_id must be given together")));
	if (!PG_ARGISNULL(3))
	{
		f.state = PG_GETARG_JSONB_P(3);
		if (!JB_ROOT_IS_OBJECT(f.state) || JB_ROOT_IS_SCALAR(f.state))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("state must be a JSON object")));
	}
	f.immediate = PG_ARGISNULL(4) ? false : PG_GETARG_BOOL(4);
	f.firer = caller;

	caller_cxt = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	runs = fire_triggers(&f, fc_catalog_get_triggers(f.name));

	/* only the runs the caller may see */
	foreach(lc, runs)
	{
		FcRun	   *run = (FcRun *) lfirst(lc);
		FcFlow	   *flow = fc_catalog_get_flow(run->flow_id);
		Datum		values[Natts_fc_run];
		bool		nulls[Natts_fc_run];
		MemoryContext old;

		if (!is_super && (flow == NULL || !is_member_of_role(caller, flow->owner)))
			continue;
		old = MemoryContextSwitchTo(caller_cxt);
		fc_run_to_values(run, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * fire(): AFTER ... FOR EACH ROW trigger function
 * ---------------------------------------------------------------------
 */

/*
 * fire()'s memory for one statement, in its fn_extra (which lives as long
 * as the statement's trigger state): that no trigger of its name is active
 * before "until", and the statement's flow_run insert state (runs.c).
 */
typedef struct FcFireExtra
{
	uint64		idle_generation;	/* 0: not known to be idle */
	TimestampTz idle_until;
	void	   *insert_state;
} FcFireExtra;

PG_FUNCTION_INFO_V1(flowcontrol_fire);
Datum
flowcontrol_fire(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	FcTriggerList *cached;
	FcFiring	f;
	AttrNumber	keyattnum;
	Oid			keytype;
	Datum		key;
	bool		isnull;
	Oid			outfunc;
	bool		isvarlena;
	int			i;
	bool		any_active = false;
	FcFireExtra *extra;
	void	   *prev_scope;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("flowcontrol.fire() must be called as a trigger")));
	if (!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("flowcontrol.fire() must be an AFTER ... FOR EACH ROW trigger")));
	trigger = td->tg_trigger;
	if (trigger->tgnargs < 1 || trigger->tgnargs > 2 ||
		(trigger->tgnargs == 2 && strcmp(trigger->tgargs[1], "immediate") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("flowcontrol.fire() takes a trigger name and optionally 'immediate'"),
				 errdetail("Trigger \"%s\" on table \"%s\" was created with %d arguments.",
						   trigger->tgname, RelationGetRelationName(td->tg_relation),
						   trigger->tgnargs)));

	/*
	 * The cheap way out: nothing listens to this name now.  Remembered in
	 * fn_extra (which lives as long as the statement's trigger state) until
	 * definitions change or a listener's active_at comes.
	 */
	extra = (FcFireExtra *) fcinfo->flinfo->fn_extra;
	if (extra == NULL)
	{
		extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FcFireExtra));
		fcinfo->flinfo->fn_extra = extra;
	}
	else if (extra->idle_generation == fc_catalog_generation &&
			 !fc_clock_shifted() && GetCurrentTransactionStartTimestamp() < extra->idle_until)
		return PointerGetDatum(NULL);

	cached = fc_catalog_get_triggers(trigger->tgargs[0]);
	for (i = 0; i < cached->ntriggers; i++)
		if (fc_trigger_is_active(&cached->triggers[i]))
			any_active = true;
	if (!any_active && cached->registered)
	{
		TimestampTz until = DT_NOEND;

		/*
		 * The earliest time one of them becomes active by itself: when both
		 * it and its flow have an active_at (setting one is a definition
		 * change, which ends this memory anyway).
		 */
		for (i = 0; i < cached->ntriggers; i++)
		{
			const FcTrigger *t = &cached->triggers[i];
			TimestampTz at;

			if (!t->has_active_at)
				continue;
			at = t->active_at;
			if (t->flow_id != 0)
			{
				if (!t->flow_has_active_at)
					continue;
				at = Max(at, t->flow_active_at);
			}
			until = Min(until, at);
		}
		extra->idle_generation = fc_catalog_generation;
		extra->idle_until = until;
		return PointerGetDatum(NULL);
	}

	memset(&f, 0, sizeof(f));
	f.name = trigger->tgargs[0];
	f.immediate = trigger->tgnargs == 2;
	f.rel = td->tg_relation;
	f.object_table = RelationGetRelid(td->tg_relation);
	f.firer = f.rel->rd_rel->relowner;
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		f.new_tuple = td->tg_trigtuple;
		f.tg_op = "INSERT";
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		f.new_tuple = td->tg_newtuple;
		f.old_tuple = td->tg_trigtuple;
		f.tg_op = "UPDATE";
	}
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		f.new_tuple = td->tg_trigtuple;
		f.old_tuple = td->tg_trigtuple;
		f.tg_op = "DELETE";
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("flowcontrol.fire() fires on INSERT, UPDATE or DELETE")));

	/* the primary key column, from the relcache (no catalog lookups per row) */
	{
		Bitmapset  *pk = RelationGetIndexAttrBitmap(f.rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
		int			member;

		if (!bms_get_singleton_member(pk, &member))
			keyattnum = fc_catalog_object_key(f.object_table, &keytype);	/* raises the error */
		else
		{
			keyattnum = member + FirstLowInvalidHeapAttributeNumber;
			keytype = TupleDescAttr(RelationGetDescr(f.rel), keyattnum - 1)->atttypid;
		}
		bms_free(pk);
	}
	key = heap_getattr(f.new_tuple, keyattnum, RelationGetDescr(f.rel), &isnull);
	if (isnull)
		elog(ERROR, "primary key of a row of \"%s\" is NULL", RelationGetRelationName(f.rel));
	getTypeOutputInfo(keytype, &outfunc, &isvarlena);
	f.object_id = OidOutputFunctionCall(outfunc, key);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the runs of this statement's rows share one insert state */
	prev_scope = fc_catalog_insert_scope_begin(&extra->insert_state, fcinfo->flinfo->fn_mcxt);
	(void) fire_triggers(&f, cached);
	fc_catalog_insert_scope_end(prev_scope);
	SPI_finish();
	return PointerGetDatum(NULL);
}
