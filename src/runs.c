/*-------------------------------------------------------------------------
 *
 * runs.c
 *	  The run row: flowcontrol.flow_run converted, locked, read, written,
 *	  counted and inserted.
 *
 * Runs change constantly and are never cached.  Every read and write is a
 * prepared query of catalog.c's (fc_catalog_exec(), as the extension
 * owner), except on three hot paths that use direct heap and index access:
 * the worker's per-run claim (fc_catalog_try_lock_run(), a tuple lock
 * following updates as SKIP LOCKED does), the limit counts
 * (fc_catalog_count_runs(), index scans on flow_run_not_done_idx and
 * flow_run_done_object_idx), and the insert of a new run while flow_run has
 * no triggers but its foreign keys' (the direct-insert path: heap and index
 * inserts, with the referenced rows locked FOR KEY SHARE as the foreign
 * keys' checks would lock them, and the flow's version claimed through
 * versions.c).  This file is the only one that touches flow_run's heap or
 * indexes directly.
 *
 * Locks: row locks on flow_run (FOR NO KEY UPDATE) belong to the caller's
 * (sub)transaction; the direct paths open flow_run with the lock a query
 * would take and keep it to the end of the transaction.  A kept insert
 * state (fc_catalog_insert_scope_begin()) lives in the caller's memory
 * context and is released when that memory goes or the (sub)transaction
 * that opened it ends; results are palloc'd in CurrentMemoryContext.
 *
 * Must not: read definitions other than through flowcache.c's or
 * versions.c's interfaces, decide anything about a run's life cycle (that
 * is the engine's), or run user code: no user trigger on flow_run is ever
 * skipped, since the direct paths are taken only when there is none.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/ilist.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "compat.h"
#include "flowcache.h"
#include "runs.h"
#include "versions.h"


static int64
get_int8(Datum *values, bool *nulls, int attnum)
{
	return nulls[attnum - 1] ? 0 : DatumGetInt64(values[attnum - 1]);
}

static FcRun *
run_from_values(Datum *values, bool *nulls)
{
	FcRun	   *run = palloc0(sizeof(FcRun));

	run->id = get_int8(values, nulls, Anum_fc_run_id);
	run->flow_id = get_int8(values, nulls, Anum_fc_run_flow_id);
	run->parent_run_id = get_int8(values, nulls, Anum_fc_run_parent_run_id);
	run->trigger_id = get_int8(values, nulls, Anum_fc_run_trigger_id);
	run->waiting_trigger_id = get_int8(values, nulls, Anum_fc_run_waiting_trigger_id);
	run->waiting_trigger_match_object = nulls[Anum_fc_run_waiting_trigger_match_object - 1] ? true :
		DatumGetBool(values[Anum_fc_run_waiting_trigger_match_object - 1]);
	run->action_id = get_int8(values, nulls, Anum_fc_run_action_id);
	run->repeat_action = nulls[Anum_fc_run_repeat_action - 1] ? false :
		DatumGetBool(values[Anum_fc_run_repeat_action - 1]);
	run->status = nulls[Anum_fc_run_status - 1] ? FC_STATUS_PENDING :
		fc_catalog_enum_value(FC_ENUM_STATUS, DatumGetObjectId(values[Anum_fc_run_status - 1]));
	run->outcome = nulls[Anum_fc_run_outcome - 1] ? FC_OUTCOME_NONE :
		fc_catalog_enum_value(FC_ENUM_OUTCOME, DatumGetObjectId(values[Anum_fc_run_outcome - 1]));
	run->log = nulls[Anum_fc_run_log - 1] ? pstrdup("") :
		TextDatumGetCString(values[Anum_fc_run_log - 1]);
	run->created_at = nulls[Anum_fc_run_created_at - 1] ? 0 :
		DatumGetTimestampTz(values[Anum_fc_run_created_at - 1]);
	run->has_continue_after = !nulls[Anum_fc_run_continue_after - 1];
	if (run->has_continue_after)
		run->continue_after = DatumGetTimestampTz(values[Anum_fc_run_continue_after - 1]);
	run->has_done_at = !nulls[Anum_fc_run_done_at - 1];
	if (run->has_done_at)
		run->done_at = DatumGetTimestampTz(values[Anum_fc_run_done_at - 1]);
	run->object_table = nulls[Anum_fc_run_object_table - 1] ? InvalidOid :
		DatumGetObjectId(values[Anum_fc_run_object_table - 1]);
	run->object_id = nulls[Anum_fc_run_object_id - 1] ? NULL :
		TextDatumGetCString(values[Anum_fc_run_object_id - 1]);
	if (nulls[Anum_fc_run_state - 1])
		run->state = NULL;
	else
		run->state = DatumGetJsonbPCopy(values[Anum_fc_run_state - 1]);
	if (run->state == NULL)
		run->state = fc_empty_object();
	run->attempt = nulls[Anum_fc_run_attempt - 1] ? 0 :
		DatumGetInt32(values[Anum_fc_run_attempt - 1]);
	run->flow_version = nulls[Anum_fc_run_flow_version - 1] ? 0 :
		DatumGetInt32(values[Anum_fc_run_flow_version - 1]);
	return run;
}

FcRun *
fc_run_from_tuple(HeapTuple tuple, TupleDesc tupdesc)
{
	Datum		values[Natts_fc_run];
	bool		nulls[Natts_fc_run];

	if (tupdesc->natts < Natts_fc_run)
		elog(ERROR, "flow_run row has %d columns, expected %d", tupdesc->natts, Natts_fc_run);
	heap_deform_tuple(tuple, tupdesc, values, nulls);
	return run_from_values(values, nulls);
}

FcRun *
fc_run_from_datum(Datum composite)
{
	HeapTupleHeader td = DatumGetHeapTupleHeader(composite);
	HeapTupleData tmptup;
	TupleDesc	tupdesc;
	FcRun	   *run;

	tmptup.t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&(tmptup.t_self));
	tmptup.t_tableOid = InvalidOid;
	tmptup.t_data = td;
	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(td),
									 HeapTupleHeaderGetTypMod(td));
	run = fc_run_from_tuple(&tmptup, tupdesc);
	ReleaseTupleDesc(tupdesc);
	return run;
}

void
fc_run_to_values(const FcRun *run, Datum *values, bool *nulls)
{
	memset(nulls, 0, sizeof(bool) * Natts_fc_run);
#define SET_ID(anum, v) \
	do { if ((v) != 0) values[(anum) - 1] = Int64GetDatum(v); else nulls[(anum) - 1] = true; } while (0)
	SET_ID(Anum_fc_run_id, run->id);
	SET_ID(Anum_fc_run_flow_id, run->flow_id);
	SET_ID(Anum_fc_run_parent_run_id, run->parent_run_id);
	SET_ID(Anum_fc_run_trigger_id, run->trigger_id);
	SET_ID(Anum_fc_run_waiting_trigger_id, run->waiting_trigger_id);
	SET_ID(Anum_fc_run_action_id, run->action_id);
#undef SET_ID
	values[Anum_fc_run_waiting_trigger_match_object - 1] = BoolGetDatum(run->waiting_trigger_match_object);
	values[Anum_fc_run_repeat_action - 1] = BoolGetDatum(run->repeat_action);
	values[Anum_fc_run_status - 1] = ObjectIdGetDatum(fc_catalog_enum_oid(FC_ENUM_STATUS, run->status));
	if (run->outcome == FC_OUTCOME_NONE)
		nulls[Anum_fc_run_outcome - 1] = true;
	else
		values[Anum_fc_run_outcome - 1] = ObjectIdGetDatum(fc_catalog_enum_oid(FC_ENUM_OUTCOME, run->outcome));
	values[Anum_fc_run_log - 1] = CStringGetTextDatum(run->log ? run->log : "");
	values[Anum_fc_run_created_at - 1] = TimestampTzGetDatum(run->created_at);
	if (run->has_continue_after)
		values[Anum_fc_run_continue_after - 1] = TimestampTzGetDatum(run->continue_after);
	else
		nulls[Anum_fc_run_continue_after - 1] = true;
	if (run->has_done_at)
		values[Anum_fc_run_done_at - 1] = TimestampTzGetDatum(run->done_at);
	else
		nulls[Anum_fc_run_done_at - 1] = true;
	if (OidIsValid(run->object_table))
	{
		values[Anum_fc_run_object_table - 1] = ObjectIdGetDatum(run->object_table);
		values[Anum_fc_run_object_id - 1] = CStringGetTextDatum(run->object_id);
	}
	else
	{
		nulls[Anum_fc_run_object_table - 1] = true;
		nulls[Anum_fc_run_object_id - 1] = true;
	}
	values[Anum_fc_run_state - 1] = JsonbPGetDatum(run->state);
	values[Anum_fc_run_attempt - 1] = Int32GetDatum(run->attempt);
	if (run->flow_version != 0)
		values[Anum_fc_run_flow_version - 1] = Int32GetDatum(run->flow_version);
	else
		nulls[Anum_fc_run_flow_version - 1] = true;
}

Datum
fc_run_to_datum(const FcRun *run)
{
	Datum		values[Natts_fc_run];
	bool		nulls[Natts_fc_run];
	TupleDesc	tupdesc;
	HeapTuple	tuple;

	fc_run_to_values(run, values, nulls);
	tupdesc = lookup_rowtype_tupdesc(fc_catalog_type("flow_run"), -1);
	tuple = heap_form_tuple(tupdesc, values, nulls);
	ReleaseTupleDesc(tupdesc);
	return HeapTupleGetDatum(tuple);
}

FcRun *
fc_run_copy(const FcRun *run)
{
	FcRun	   *copy = palloc(sizeof(FcRun));

	memcpy(copy, run, sizeof(FcRun));
	copy->log = pstrdup(run->log ? run->log : "");
	copy->object_id = run->object_id ? pstrdup(run->object_id) : NULL;
	copy->state = run->state ? (Jsonb *) pg_detoast_datum_copy((struct varlena *) run->state) : NULL;
	return copy;
}

static FcRun *
first_run_or_null(void)
{
	if (SPI_processed == 0)
		return NULL;
	return fc_run_from_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
}

FcRun *
fc_catalog_lock_run(int64 run_id, bool skip_locked)
{
	static FcQuery wait_q = {
		"SELECT * FROM flowcontrol.flow_run WHERE id = $1 FOR NO KEY UPDATE", 1, {INT8OID}
	};
	static FcQuery skip_q = {
		"SELECT * FROM flowcontrol.flow_run WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED", 1, {INT8OID}
	};
	Datum		arg = Int64GetDatum(run_id);

	fc_catalog_exec(skip_locked ? &skip_q : &wait_q, &arg, NULL, 1);
	return first_run_or_null();
}

FcRun *
fc_catalog_read_run(int64 run_id)
{
	static FcQuery q = {
		"SELECT * FROM flowcontrol.flow_run WHERE id = $1", 1, {INT8OID}
	};
	Datum		arg = Int64GetDatum(run_id);

	fc_catalog_exec(&q, &arg, NULL, 1);
	return first_run_or_null();
}

FcRun *
fc_catalog_try_lock_run(int64 run_id, ItemPointer tid)
{
	Relation	rel = table_open(fc_catalog_relid(FC_REL_FLOW_RUN), RowShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	ItemPointerData ctid = *tid;
	TM_FailureData tmfd;
	TM_Result	result;
	FcRun	   *run = NULL;

	result = table_tuple_lock(rel, &ctid, GetActiveSnapshot(), slot,
							  GetCurrentCommandId(true), LockTupleNoKeyExclusive,
							  LockWaitSkip, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);

	/* as ExecLockRows: a newer version is not ours to see in REPEATABLE READ */
	if (IsolationUsesXactSnapshot() &&
		(result == TM_Deleted || (result == TM_Ok && tmfd.traversed)))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));
	if (result == TM_Ok)
	{
		bool		should_free;
		HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);

		/* run_from_values copies every value out of the buffer */
		run = fc_run_from_tuple(tuple, RelationGetDescr(rel));
		if (should_free)
			heap_freetuple(tuple);
		/* the version at tid is the row's, so is every newer one */
		if (run->id != run_id)
			elog(ERROR, "flow run " INT64_FORMAT " is not at its tuple (%u,%u)",
				 run_id, ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
	}
	ExecDropSingleTupleTableSlot(slot);
	/* the table lock is kept to the end of the transaction, as a query's */
	table_close(rel, NoLock);
	return run;
}

void
fc_catalog_write_run(const FcRun *run)
{
	static FcQuery q = {
		"UPDATE flowcontrol.flow_run SET parent_run_id = $2, trigger_id = $3,"
		" waiting_trigger_id = $4, waiting_trigger_match_object = $5, action_id = $6,"
		" repeat_action = $7, status = $8::pg_catalog.text::flowcontrol.run_status,"
		" outcome = $9::pg_catalog.text::flowcontrol.run_outcome, log = $10,"
		" continue_after = $11, done_at = $12, state = $13, attempt = $14, flow_version = $15 WHERE id = $1",
		15, {INT8OID, INT8OID, INT8OID, INT8OID, BOOLOID, INT8OID, BOOLOID, TEXTOID,
		TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID, INT4OID, INT4OID}
	};
	Datum		values[15];
	char		nulls[15];

	memset(nulls, ' ', sizeof(nulls));
#define SET_ID(i, v) \
	do { if ((v) != 0) values[i] = Int64GetDatum(v); else nulls[i] = 'n'; } while (0)
	values[0] = Int64GetDatum(run->id);
	SET_ID(1, run->parent_run_id);
	SET_ID(2, run->trigger_id);
	SET_ID(3, run->waiting_trigger_id);
	values[4] = BoolGetDatum(run->waiting_trigger_match_object);
	SET_ID(5, run->action_id);
#undef SET_ID
	values[6] = BoolGetDatum(run->repeat_action);
	values[7] = CStringGetTextDatum(fc_status_names[run->status]);
	if (run->outcome == FC_OUTCOME_NONE)
		nulls[8] = 'n';
	else
		values[8] = CStringGetTextDatum(fc_outcome_names[run->outcome]);
	values[9] = CStringGetTextDatum(run->log ? run->log : "");
	if (run->has_continue_after)
		values[10] = TimestampTzGetDatum(run->continue_after);
	else
		nulls[10] = 'n';
	if (run->has_done_at)
		values[11] = TimestampTzGetDatum(run->done_at);
	else
		nulls[11] = 'n';
	values[12] = JsonbPGetDatum(run->state);
	values[13] = Int32GetDatum(run->attempt);
	if (run->flow_version != 0)
		values[14] = Int32GetDatum(run->flow_version);
	else
		nulls[14] = 'n';

	fc_catalog_exec(&q, values, nulls, 0);
	if (SPI_processed != 1)
		elog(ERROR, "flow run " INT64_FORMAT " disappeared while it was being written", run->id);
}

/*
 * Rows the current subtransaction has locked FOR KEY SHARE for the direct
 * insert path: the trigger and parent run a new run references (the flow
 * row is locked by fc_catalog_claim_version(), which caches its own).
 */
typedef struct FcKeyLock
{
	Oid			relid;
	int64		id;
	SubTransactionId subxid;
	LocalTransactionId lxid;
} FcKeyLock;

/* the identity sequence of flow_run.id */
static Oid	run_seq = InvalidOid;
static uint64 run_seq_generation = 0;

#define FC_KEY_LOCK_SLOTS 8
static FcKeyLock key_locks[FC_KEY_LOCK_SLOTS];
static int	key_lock_next = 0;

/*
 * Lock a referenced row FOR KEY SHARE, as a foreign key check would, once
 * per subtransaction; error if it does not exist.
 */
static void
lock_referenced(FcQuery *q, Oid relid, int64 id, const char *what)
{
	SubTransactionId subxid = GetCurrentSubTransactionId();
	LocalTransactionId lxid = FC_MY_LXID();
	Datum		arg = Int64GetDatum(id);
	int			i;

	for (i = 0; i < FC_KEY_LOCK_SLOTS; i++)
		if (key_locks[i].id == id && key_locks[i].relid == relid &&
			key_locks[i].subxid == subxid && key_locks[i].lxid == lxid)
			return;

	fc_catalog_exec(q, &arg, NULL, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("%s %lld does not exist", what, (long long) id)));
	key_locks[key_lock_next].relid = relid;
	key_locks[key_lock_next].id = id;
	key_locks[key_lock_next].subxid = subxid;
	key_locks[key_lock_next].lxid = lxid;
	key_lock_next = (key_lock_next + 1) % FC_KEY_LOCK_SLOTS;
}

/*
 * Can runs be inserted directly into flow_run?  Only while the table has
 * no triggers but its foreign keys' (whose insert-side checks the direct
 * path does itself), so no user trigger on flow_run is ever skipped.
 */
static bool
direct_insert_allowed(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;
	int			i;

	if (td == NULL)
		return true;
	for (i = 0; i < td->numtriggers; i++)
		if (RI_FKey_trigger_type(td->triggers[i].tgfoid) == RI_TRIGGER_NONE)
			return false;
	return true;
}

bool
fc_catalog_run_writes_plain(void)
{
	Relation	rel = table_open(fc_catalog_relid(FC_REL_FLOW_RUN), AccessShareLock);
	bool		plain = direct_insert_allowed(rel);

	table_close(rel, AccessShareLock);
	return plain;
}

/*
 * What direct inserts into flow_run need: the relation with its indexes
 * open and an executor state for their predicates.
 *
 * A table trigger creating a run per row would set this up once per row;
 * so fire() keeps one for the statement whose rows it fires for, in its
 * fn_extra: fc_catalog_insert_scope_begin() makes it the kept state until
 * fc_catalog_insert_scope_end().  It is opened on the first insert, under
 * the resource owner and subtransaction the scope began in (inserts from
 * nested subtransactions, an immediate action's say, set up a temporary
 * one), and closed when the trigger's memory goes at the statement's
 * ExecutorEnd (a memory context callback), so the open flow_run never
 * blocks a later TRUNCATE or ALTER TABLE of it.  An abort releases its
 * references through the resource owner; the (sub)transaction callbacks
 * then only forget it.  No executor hook is needed: nothing of flowcontrol
 * runs for statements that fire no flow trigger.
 */
typedef struct FcInsertState
{
	bool		open;			/* rel, estate, rri and slot are set up */
	ResourceOwner owner;		/* holds its relation and index references */
	LocalTransactionId lxid;
	SubTransactionId subxid;
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;

	/* a kept state: where its scope began, and its place in open_states */
	bool		kept;
	ResourceOwner scope_owner;
	LocalTransactionId scope_lxid;
	SubTransactionId scope_subxid;
	dlist_node	node;
	MemoryContextCallback callback;
} FcInsertState;

static FcInsertState *active_state = NULL;
static dlist_head open_states = DLIST_STATIC_INIT(open_states);
static bool insert_callbacks_registered = false;

static void
insert_state_release(FcInsertState *st)
{
	ResourceOwner save = CurrentResourceOwner;

	/* the references belong to the owner that was current when it was set up */
	CurrentResourceOwner = st->owner;
	ExecDropSingleTupleTableSlot(st->slot);
	ExecCloseIndices(st->rri);
	table_close(st->rel, NoLock);
	CurrentResourceOwner = save;
	FreeExecutorState(st->estate);
	st->open = false;
	if (st->kept)
		dlist_delete(&st->node);
}

/* A kept state's memory goes: its statement ended. */
static void
insert_state_scope_gone(void *arg)
{
	FcInsertState *st = (FcInsertState *) arg;

	if (st->open)
		insert_state_release(st);
	if (active_state == st)
		active_state = NULL;
}

/*
 * The kept states of the transaction (all) or of a subtransaction that
 * ends: an abort has released their references, so they are only
 * forgotten; a commit closes those still open.  fire()'s memory is the
 * statement's, so normally none is left; but a deferred constraint trigger
 * may be called with longer-lived memory, and its state must not outlive
 * the resource owner that holds its relation.
 */
static void
insert_states_end(bool all, SubTransactionId subxid, bool commit)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &open_states)
	{
		FcInsertState *st = dlist_container(FcInsertState, node, iter.cur);

		if (!all && st->subxid != subxid)
			continue;
		if (commit)
			insert_state_release(st);
		else
		{
			st->open = false;
			dlist_delete(&st->node);
		}
	}
	if (active_state != NULL && (all || active_state->scope_subxid == subxid))
		active_state = NULL;
}

static void
insert_state_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		insert_states_end(true, InvalidSubTransactionId, false);
	else if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PARALLEL_PRE_COMMIT ||
			 event == XACT_EVENT_PRE_PREPARE)
		insert_states_end(true, InvalidSubTransactionId, true);
}

static void
insert_state_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		insert_states_end(false, mySubid, false);
	else if (event == SUBXACT_EVENT_PRE_COMMIT_SUB)
		insert_states_end(false, mySubid, true);
}

static void
insert_state_open(FcInsertState *st, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	st->rel = table_open(fc_catalog_relid(FC_REL_FLOW_RUN), RowExclusiveLock);
	st->estate = CreateExecutorState();
	/* the rest in the executor state's memory, freed with it */
	MemoryContextSwitchTo(st->estate->es_query_cxt);
	st->rri = makeNode(ResultRelInfo);

	/*
	 * No range table: index 0 (ExecConstraints' error detail then shows the
	 * row only to those who may read all of it).
	 */
	InitResultRelInfo(st->rri, st->rel, 0, NULL, 0);
	ExecOpenIndices(st->rri, false);
	st->slot = ExecInitExtraTupleSlot(st->estate, RelationGetDescr(st->rel), &TTSOpsHeapTuple);
	st->owner = CurrentResourceOwner;
	st->lxid = FC_MY_LXID();
	st->subxid = GetCurrentSubTransactionId();
	st->open = true;
	MemoryContextSwitchTo(old);
}

void *
fc_catalog_insert_scope_begin(void **slot, MemoryContext cxt)
{
	FcInsertState *st = (FcInsertState *) *slot;
	void	   *prev = active_state;

	if (!insert_callbacks_registered)
	{
		RegisterXactCallback(insert_state_xact_callback, NULL);
		RegisterSubXactCallback(insert_state_subxact_callback, NULL);
		insert_callbacks_registered = true;
	}
	if (st == NULL)
	{
		st = MemoryContextAllocZero(cxt, sizeof(FcInsertState));
		st->kept = true;
		st->callback.func = insert_state_scope_gone;
		st->callback.arg = st;
		MemoryContextRegisterResetCallback(cxt, &st->callback);
		*slot = st;
	}
	st->scope_owner = CurrentResourceOwner;
	st->scope_lxid = FC_MY_LXID();
	st->scope_subxid = GetCurrentSubTransactionId();
	active_state = st;
	return prev;
}

void
fc_catalog_insert_scope_end(void *prev)
{
	active_state = (FcInsertState *) prev;
}

/*
 * The insert state for the current subtransaction: the kept one when a
 * scope is active here, else a temporary one (*temporary set) that the
 * caller releases.
 */
static FcInsertState *
get_insert_state(FcInsertState *temp, bool *temporary)
{
	FcInsertState *st = active_state;

	*temporary = false;
	if (st != NULL && st->scope_owner == CurrentResourceOwner &&
		st->scope_lxid == FC_MY_LXID() &&
		st->scope_subxid == GetCurrentSubTransactionId())
	{
		if (st->open && st->owner == CurrentResourceOwner &&
			st->subxid == st->scope_subxid && st->lxid == st->scope_lxid &&
			RelationGetRelid(st->rel) == fc_catalog_relid(FC_REL_FLOW_RUN))
			return st;
		if (st->open)
			insert_state_release(st);
		insert_state_open(st, CurTransactionContext);
		dlist_push_head(&open_states, &st->node);
		return st;
	}
	memset(temp, 0, sizeof(FcInsertState));
	insert_state_open(temp, CurrentMemoryContext);
	*temporary = true;
	return temp;
}

/*
 * Insert a run without the executor: heap and index inserts, with the
 * referenced rows locked as the foreign keys' checks would lock them.  A
 * table trigger creating a run per inserted row spends most of its time in
 * the per-statement executor setup of an INSERT; this avoids it.
 */
static FcRun *
insert_run_direct(FcInsertState *is, int64 flow_id, Oid object_table, const char *object_id,
				  Jsonb *state, int64 parent_run_id, int64 trigger_id, int32 version_hint)
{
	static FcQuery trigger_q = {
		"SELECT 1 FROM flowcontrol.trigger WHERE id = $1 FOR KEY SHARE", 1, {INT8OID}
	};
	static FcQuery parent_q = {
		"SELECT 1 FROM flowcontrol.flow_run WHERE id = $1 FOR KEY SHARE", 1, {INT8OID}
	};
	FcRun	   *run = palloc0(sizeof(FcRun));
	Datum		values[Natts_fc_run];
	bool		nulls[Natts_fc_run];
	Relation	rel = is->rel;
	HeapTuple	tuple;
	List	   *recheck;

	/* locks the flow row FOR KEY SHARE, as the foreign key would */
	int32		version = fc_catalog_claim_version(flow_id, version_hint);

	if (trigger_id)
		lock_referenced(&trigger_q, fc_catalog_relid(FC_REL_TRIGGER), trigger_id, "trigger");
	if (parent_run_id)
		lock_referenced(&parent_q, RelationGetRelid(rel), parent_run_id, "flow run");

	if (run_seq_generation != fc_catalog_generation || !OidIsValid(run_seq))
	{
		run_seq = getIdentitySequence(rel, Anum_fc_run_id, false);
		run_seq_generation = fc_catalog_generation;
	}
	run->id = nextval_internal(run_seq, false);
	run->flow_id = flow_id;
	run->parent_run_id = parent_run_id;
	run->trigger_id = trigger_id;
	run->waiting_trigger_match_object = true;
	run->status = FC_STATUS_PENDING;
	run->outcome = FC_OUTCOME_NONE;
	run->log = "";
	run->created_at = fc_now_for_flow(flow_id);
	run->object_table = object_table;
	run->object_id = object_id ? pstrdup(object_id) : NULL;
	run->state = state ? state : fc_empty_object();
	run->flow_version = version;

	fc_run_to_values(run, values, nulls);
	tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);

	ExecStoreHeapTuple(tuple, is->slot, false);
	/* NOT NULL and CHECK constraints, as ExecInsert checks them */
	if (RelationGetDescr(rel)->constr != NULL)
		ExecConstraints(is->rri, is->slot, is->estate);
	simple_table_tuple_insert(is->rel, is->slot);
	recheck = ExecInsertIndexTuples(is->rri, is->estate, 0, is->slot, NIL, NULL);
	list_free(recheck);
	ExecClearTuple(is->slot);
	ResetPerTupleExprContext(is->estate);
	heap_freetuple(tuple);
	return run;
}

/*
 * Count a flow's runs (for one object, when object_id is given; only those
 * not done, when not_done), stopping at limit.  Direct index scans with a
 * fresh snapshot taken after a command counter increment, so they see what
 * this transaction did so far -- runs inserted directly included -- and
 * what others committed before the caller took its limit lock.  The runs
 * not done are in flow_run_not_done_idx, keyed (flow_id, object_table,
 * object_id); the done ones with an object in flow_run_done_object_idx.
 * One snapshot for both scans: each run is counted once.
 */
static int64
count_in_index(Relation rel, FcRelation index, Snapshot snapshot, int64 flow_id,
			   Oid object_table, const char *object_id, int64 limit)
{
	ScanKeyData keys[3];
	int			nkeys = 0;
	SysScanDesc scan;
	int64		n = 0;

	/* in the index's column order; the scan maps the heap's attnums */
	ScanKeyInit(&keys[nkeys++], Anum_fc_run_flow_id, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum(flow_id));
	if (object_id != NULL)
	{
		ScanKeyInit(&keys[nkeys++], Anum_fc_run_object_table, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(object_table));
		ScanKeyInit(&keys[nkeys], Anum_fc_run_object_id, BTEqualStrategyNumber,
					F_TEXTEQ, CStringGetTextDatum(object_id));
		/* the index's object_id column has the "C" collation */
		keys[nkeys++].sk_collation = C_COLLATION_OID;
	}
	scan = systable_beginscan(rel, fc_catalog_relid(index), true, snapshot, nkeys, keys);
	while (n < limit && HeapTupleIsValid(systable_getnext(scan)))
		n++;
	systable_endscan(scan);
	return n;
}

int64
fc_catalog_count_runs(int64 flow_id, Oid object_table, const char *object_id,
					  bool not_done, int64 limit)
{
	Relation	rel;
	Snapshot	snapshot;
	int64		n;

	if (object_id == NULL && !not_done)
		elog(ERROR, "counting all runs of a flow is not supported");

	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	rel = table_open(fc_catalog_relid(FC_REL_FLOW_RUN), AccessShareLock);
	n = count_in_index(rel, FC_REL_RUN_NOT_DONE_IDX, snapshot, flow_id,
					   object_table, object_id, limit);
	if (!not_done && n < limit)
		n += count_in_index(rel, FC_REL_RUN_DONE_OBJECT_IDX, snapshot, flow_id,
							object_table, object_id, limit - n);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snapshot);
	return n;
}

FcRun *
fc_catalog_insert_run(int64 flow_id, Oid object_table, const char *object_id,
					  Jsonb *state, int64 parent_run_id, int64 trigger_id,
					  int32 version_hint)
{
	static FcQuery q = {
		"INSERT INTO flowcontrol.flow_run (flow_id, object_table, object_id, state,"
		" parent_run_id, trigger_id, created_at, flow_version)"
		" VALUES ($1, $2::pg_catalog.oid::pg_catalog.regclass, $3,"
		" COALESCE($4, '{}'::pg_catalog.jsonb), $5, $6, $7, $8) RETURNING *",
		8, {INT8OID, OIDOID, TEXTOID, JSONBOID, INT8OID, INT8OID, TIMESTAMPTZOID, INT4OID}
	};
	Datum		values[8];
	char		nulls[] = "        ";
	FcInsertState temp;
	bool		temporary;
	FcInsertState *is = get_insert_state(&temp, &temporary);

	if (direct_insert_allowed(is->rel))
	{
		FcRun	   *run = insert_run_direct(is, flow_id, object_table, object_id,
											state, parent_run_id, trigger_id, version_hint);

		if (temporary)
			insert_state_release(is);
		return run;
	}
	if (temporary)
		insert_state_release(is);

	values[0] = Int64GetDatum(flow_id);
	if (OidIsValid(object_table))
	{
		values[1] = ObjectIdGetDatum(object_table);
		values[2] = CStringGetTextDatum(object_id);
	}
	else
		nulls[1] = nulls[2] = 'n';
	if (state)
		values[3] = JsonbPGetDatum(state);
	else
		nulls[3] = 'n';
	if (parent_run_id)
		values[4] = Int64GetDatum(parent_run_id);
	else
		nulls[4] = 'n';
	if (trigger_id)
		values[5] = Int64GetDatum(trigger_id);
	else
		nulls[5] = 'n';
	values[6] = TimestampTzGetDatum(fc_now_for_flow(flow_id));
	values[7] = Int32GetDatum(fc_catalog_claim_version(flow_id, version_hint));
	fc_catalog_exec(&q, values, nulls, 0);
	return first_run_or_null();
}
