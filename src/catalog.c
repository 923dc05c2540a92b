/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  The only code that reads and writes flowcontrol's own tables.
 *
 * Definitions (flows, actions, triggers, registries) change rarely and are
 * read on every execution, so they are cached per backend.  A statement
 * trigger on each definition table calls flowcontrol_invalidate(), which
 * queues a relcache invalidation for that table; every backend's relcache
 * callback then bumps fc_catalog_generation, and caches built at an older
 * generation are rebuilt on next use.  The invalidation travels with the
 * transaction: other sessions see it when it commits, this session at its
 * next command, and an aborted transaction's own changes are flushed too.
 *
 * Flows are versioned: each version keeps its own flow_action rows
 * (flow_action.flow_version), and the cache holds a flow with the action
 * tree of one version, keyed by (flow, version), 0 standing for the
 * current one.  A run is pinned to a version (flow_run.flow_version) when
 * it is created or reset, under a share lock of that version (an advisory
 * lock of its own tag, taken before the version is read and kept to the
 * end of the transaction); fc_catalog_prune_versions() removes an earlier
 * version only with the exclusive lock, taken without waiting, and only
 * when no run that is not done uses it.  So a version never disappears
 * under a run being pinned to it, and a deploy or a run ending never
 * waits for one.
 *
 * Runs change constantly and are never cached.  All reads and writes of
 * the extension's tables happen as the extension owner, so that a role
 * with no privileges on them (say, one writing to a table with a flow
 * trigger) can still cause flows to run.
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
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "action_policy.h"
#include "catalog.h"
#include "compat.h"
#include "expr.h"
#include "flowcontrol.h"
#include "owner.h"

uint64		fc_catalog_generation = 1;

/* Cached OIDs, valid while cached_generation == fc_catalog_generation. */
static uint64 cached_generation = 0;
static Oid	cached_namespace = InvalidOid;
static Oid	cached_owner = InvalidOid;

/* The definition tables, whose changes bump fc_catalog_generation. */
static const char *const watched_names[] = {
	"flow", "flow_action", "trigger", "action_type", "trigger_type", "filter",
	"trigger_grant"
};
#define FC_NUM_WATCHED lengthof(watched_names)
static Oid	watched_relids[FC_NUM_WATCHED];

/*
 * flow_run and the indexes read directly, looked up on every run created:
 * kept until a relcache invalidation of flow_run (its DDL, REINDEX ...)
 * or of everything.  Changes of flow_run do not bump the generation:
 * they are frequent (VACUUM updates its pg_class row) and concern no
 * definition.
 */
static const char *const run_rel_names[] = {
	"flow_run", "flow_run_done_object_idx", "flow_run_not_done_idx"
};
static Oid	run_relids[lengthof(run_rel_names)];
static bool run_relids_valid = false;

/*
 * Relcache invalidation callback.  No catalog access here: compare with the
 * table OIDs looked up in refresh_oids().  Until they are known, any
 * invalidation counts.
 */
static void
fc_relcache_callback(Datum arg, Oid relid)
{
	int			i;

	if (!OidIsValid(relid) || relid == run_relids[0])
		run_relids_valid = false;
	if (!OidIsValid(relid) || !OidIsValid(cached_namespace))
	{
		fc_catalog_generation++;
		return;
	}
	for (i = 0; i < FC_NUM_WATCHED; i++)
	{
		if (watched_relids[i] == relid)
		{
			fc_catalog_generation++;
			return;
		}
	}
}


static void
refresh_oids(void)
{
	Oid			extoid;

	if (cached_generation == fc_catalog_generation && OidIsValid(cached_namespace))
		return;

	cached_namespace = InvalidOid;
	cached_owner = InvalidOid;

	extoid = get_extension_oid("flowcontrol", true);
	if (!OidIsValid(extoid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"flowcontrol\" is not installed in this database")));

	cached_namespace = get_namespace_oid("flowcontrol", false);
	for (int i = 0; i < FC_NUM_WATCHED; i++)
		watched_relids[i] = get_relname_relid(watched_names[i], cached_namespace);

	{
		HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(cached_namespace));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for namespace %u", cached_namespace);
		cached_owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
		ReleaseSysCache(tup);
	}
	cached_generation = fc_catalog_generation;
}

Oid
fc_catalog_namespace(void)
{
	refresh_oids();
	return cached_namespace;
}

Oid
fc_catalog_relid(FcRelation which)
{
	int			i;

	refresh_oids();
	switch (which)
	{
		case FC_REL_FLOW:
		case FC_REL_FLOW_ACTION:
		case FC_REL_TRIGGER:
			/* watched_names starts with these three, in this order */
			if (!OidIsValid(watched_relids[which]))
				elog(ERROR, "table flowcontrol.%s does not exist", watched_names[which]);
			return watched_relids[which];
		case FC_REL_FLOW_RUN:
		case FC_REL_RUN_DONE_OBJECT_IDX:
		case FC_REL_RUN_NOT_DONE_IDX:
			break;
	}
	if (!run_relids_valid)
	{
		for (i = 0; i < lengthof(run_rel_names); i++)
		{
			run_relids[i] = get_relname_relid(run_rel_names[i], cached_namespace);
			if (!OidIsValid(run_relids[i]))
				elog(ERROR, "relation flowcontrol.%s does not exist", run_rel_names[i]);
		}
		run_relids_valid = true;
	}
	return run_relids[which - FC_REL_FLOW_RUN];
}

/*
 * The extension's types, looked up for every run passed to an action or
 * returned by a function: cached for the catalog generation (dropping the
 * extension bumps it).
 */
static const char *const type_names[] = {"flow_run", "directive", "run_status", "run_outcome"};
static Oid	type_oids[lengthof(type_names)];
static uint64 type_generation = 0;

Oid
fc_catalog_type(const char *name)
{
	int			i;

	if (type_generation != fc_catalog_generation)
	{
		memset(type_oids, 0, sizeof(type_oids));
		type_generation = fc_catalog_generation;
	}
	for (i = 0; i < lengthof(type_names); i++)
	{
		if (strcmp(type_names[i], name) != 0)
			continue;
		if (!OidIsValid(type_oids[i]))
			type_oids[i] = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										   CStringGetDatum(name),
										   ObjectIdGetDatum(fc_catalog_namespace()));
		if (!OidIsValid(type_oids[i]))
			elog(ERROR, "type flowcontrol.%s does not exist", name);
		return type_oids[i];
	}
	elog(ERROR, "unexpected type name \"%s\"", name);
	return InvalidOid;
}

void
fc_catalog_check_execute(Oid fn)
{
	AclResult	aclresult = object_aclcheck(ProcedureRelationId, fn, GetUserId(), ACL_EXECUTE);

	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FUNCTION, get_func_name(fn));
}

Oid
fc_catalog_extension_owner(void)
{
	refresh_oids();
	return cached_owner;
}

void
fc_catalog_become(FcUserSwitch *save, Oid userid)
{
	GetUserIdAndSecContext(&save->saved_userid, &save->saved_sec_context);
	SetUserIdAndSecContext(userid,
						   save->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
fc_catalog_restore(const FcUserSwitch *save)
{
	SetUserIdAndSecContext(save->saved_userid, save->saved_sec_context);
}

int
fc_catalog_exec(FcQuery *q, Datum *values, const char *nulls, long tcount)
{
	FcUserSwitch save;
	int			rc;
	FcSearchPathPin pin;

	/*
	 * Parse and run with only pg_catalog in the search path: these queries
	 * run as the extension owner, so a hostile search_path must not be able
	 * to substitute operators or functions.  Parse analysis checks schema
	 * privileges, so the plan is prepared as the extension owner too: a role
	 * with no rights on flowcontrol's schema (say, one writing to a table
	 * with a flow trigger) may be the first to need it.
	 */
	pin = fc_pin_catalog_search_path();
	fc_catalog_become(&save, fc_catalog_extension_owner());
	if (q->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(q->sql, q->nargs, q->argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 q->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		q->plan = plan;
	}

	rc = SPI_execute_plan(q->plan, values, nulls, false, tcount);
	fc_catalog_restore(&save);
	fc_unpin_catalog_search_path(pin);

	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s",
			 q->sql, SPI_result_code_string(rc));
	return rc;
}

/*
 * Registered filters: name -> function OID, cached for the current catalog
 * generation.
 */
typedef struct FcFilterEntry
{
	char		name[NAMEDATALEN * 2];
	Oid			function;
} FcFilterEntry;

static HTAB *filter_cache = NULL;
static uint64 filter_cache_generation = 0;

Oid
fc_catalog_lookup_filter(const char *name)
{
	static FcQuery q = {
		"SELECT pg_catalog.to_regprocedure(function) FROM flowcontrol.filter WHERE name = $1",
		1, {TEXTOID}
	};
	FcFilterEntry *entry;
	bool		found;
	Datum		arg;

	if (strlen(name) >= NAMEDATALEN * 2)
		return InvalidOid;

	if (filter_cache == NULL || filter_cache_generation != fc_catalog_generation)
	{
		HASHCTL		ctl;

		if (filter_cache)
			hash_destroy(filter_cache);
		ctl.keysize = NAMEDATALEN * 2;
		ctl.entrysize = sizeof(FcFilterEntry);
		filter_cache = hash_create("flowcontrol filter cache", 16, &ctl,
								   HASH_ELEM | HASH_STRINGS);
		filter_cache_generation = fc_catalog_generation;
	}

	entry = hash_search(filter_cache, name, HASH_FIND, &found);
	if (found && SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(entry->function)))
		return entry->function;

	arg = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	fc_catalog_exec(&q, &arg, NULL, 1);
	{
		Oid			fn = InvalidOid;

		if (SPI_processed == 1)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				fn = DatumGetObjectId(d);
		}
		SPI_finish();

		if (!OidIsValid(fn))
			return InvalidOid;
		entry = hash_search(filter_cache, name, HASH_ENTER, NULL);
		entry->function = fn;
		return fn;
	}
}

/*
 * flowcontrol_invalidate: statement trigger on the definition tables.
 */
PG_FUNCTION_INFO_V1(flowcontrol_invalidate);
Datum
flowcontrol_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "flowcontrol_invalidate: not called by trigger manager");

	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------
 * Enums
 * ---------------------------------------------------------------------
 */
const char *const fc_directive_names[] = {
	"continue", "enter", "leave", "break", "abort", "suspend", "suspend_and_repeat", NULL
};
const char *const fc_status_names[] = {
	"pending", "running", "waiting", "paused", "done", NULL
};
const char *const fc_outcome_names[] = {
	"complete", "aborted", "errored", "obsolete", "canceled", NULL
};

/* each array: one name per enum value, in order, then NULL */
StaticAssertDecl(lengthof(fc_directive_names) == FC_DIR_SUSPEND_AND_REPEAT + 2,
				 "fc_directive_names must match FcDirective");
StaticAssertDecl(lengthof(fc_status_names) == FC_STATUS_DONE + 2,
				 "fc_status_names must match FcRunStatus");
StaticAssertDecl(lengthof(fc_outcome_names) == FC_OUTCOME_CANCELED + 2,
				 "fc_outcome_names must match FcRunOutcome");

#define FC_MAX_ENUM_LABELS 8
static const char *const *const enum_labels[] = {
	fc_directive_names, fc_status_names, fc_outcome_names
};
static const char *const enum_types[] = {"directive", "run_status", "run_outcome"};
static Oid	enum_oids[lengthof(enum_types)][FC_MAX_ENUM_LABELS];

StaticAssertDecl(lengthof(enum_labels) == FC_ENUM_OUTCOME + 1,
				 "enum_labels must have an entry for every FcEnumKind");
StaticAssertDecl(lengthof(enum_types) == FC_ENUM_OUTCOME + 1,
				 "enum_types must have an entry for every FcEnumKind");
StaticAssertDecl(lengthof(fc_directive_names) <= FC_MAX_ENUM_LABELS + 1 &&
				 lengthof(fc_status_names) <= FC_MAX_ENUM_LABELS + 1 &&
				 lengthof(fc_outcome_names) <= FC_MAX_ENUM_LABELS + 1,
				 "FC_MAX_ENUM_LABELS too small");
static uint64 enum_generation = 0;

static void
load_enums(void)
{
	int			k;

	if (enum_generation == fc_catalog_generation)
		return;
	for (k = 0; k < 3; k++)
	{
		Oid			typid = fc_catalog_type(enum_types[k]);
		int			i;

		for (i = 0; enum_labels[k][i] != NULL; i++)
		{
			HeapTuple	tup = SearchSysCache2(ENUMTYPOIDNAME,
											  ObjectIdGetDatum(typid),
											  CStringGetDatum(enum_labels[k][i]));

			if (!HeapTupleIsValid(tup))
				elog(ERROR, "enum label \"%s\" of type flowcontrol.%s is missing",
					 enum_labels[k][i], enum_types[k]);
			enum_oids[k][i] = ((Form_pg_enum) GETSTRUCT(tup))->oid;
			ReleaseSysCache(tup);
		}
	}
	enum_generation = fc_catalog_generation;
}

Oid
fc_catalog_enum_oid(FcEnumKind kind, int value)
{
	load_enums();
	return enum_oids[kind][value];
}

int
fc_catalog_enum_value(FcEnumKind kind, Oid enumoid)
{
	int			i;

	load_enums();
	for (i = 0; enum_labels[kind][i] != NULL; i++)
		if (enum_oids[kind][i] == enumoid)
			return i;
	elog(ERROR, "unknown value %u of type flowcontrol.%s", enumoid, enum_types[kind]);
	return -1;
}

int
fc_directive_from_name(const char *name)
{
	int			i;

	for (i = 0; fc_directive_names[i] != NULL; i++)
		if (strcmp(fc_directive_names[i], name) == 0)
			return i;
	return -1;
}

Jsonb *
fc_empty_object(void)
{
	JsonbInState state = {0};
	JsonbValue *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	res = state.result;
	return JsonbValueToJsonb(res);
}

/* ---------------------------------------------------------------------
 * Runs
 * ---------------------------------------------------------------------
 */
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
 * insert path: the flow, trigger and parent run a new run references.
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

/* ---------------------------------------------------------------------
 * Flow versions
 * ---------------------------------------------------------------------
 */

/* lock tag field4 of version locks (the engine's limit locks use 0x4643) */
#define FC_LOCKTAG_VERSION 0x4656

/* Lock a version of a flow; with dontwait, false when that would wait. */
static bool
lock_version(int64 flow_id, int32 version, LOCKMODE mode, bool dontwait)
{
	LOCKTAG		tag;

	/* distinct flows may share a tag: then one only waits for the other */
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) flow_id ^ (uint32) (flow_id >> 32),
						 (uint32) version, FC_LOCKTAG_VERSION);
	return LockAcquire(&tag, mode, false, dontwait) != LOCKACQUIRE_NOT_AVAIL;
}

/* Versions claimed in this subtransaction (FcKeyLock's cache, for versions) */
typedef struct FcClaim
{
	int64		flow_id;
	int32		version;
	SubTransactionId subxid;
	LocalTransactionId lxid;
	uint64		generation;
} FcClaim;

#define FC_CLAIM_SLOTS 8
static FcClaim claims[FC_CLAIM_SLOTS];
static int	claim_next = 0;

int32
fc_catalog_claim_version(int64 flow_id, int32 version_hint)
{
	static FcQuery q = {
		"SELECT version FROM flowcontrol.flow WHERE id = $1 FOR KEY SHARE", 1, {INT8OID}
	};
	SubTransactionId subxid = GetCurrentSubTransactionId();
	LocalTransactionId lxid = FC_MY_LXID();
	Datum		arg = Int64GetDatum(flow_id);
	int32		version = version_hint;
	int			i;

	for (i = 0; i < FC_CLAIM_SLOTS; i++)
		if (claims[i].flow_id == flow_id && claims[i].subxid == subxid &&
			claims[i].lxid == lxid && claims[i].generation == fc_catalog_generation)
			return claims[i].version;

	/* lock first, then read: a version read after its lock is kept */
	for (;;)
	{
		bool		isnull;
		int32		current;

		if (version > 0)
			(void) lock_version(flow_id, version, ShareLock, false);
		fc_catalog_exec(&q, &arg, NULL, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("flow %lld does not exist", (long long) flow_id)));
		current = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (current == version)
			break;
		version = current;
	}
	claims[claim_next].flow_id = flow_id;
	claims[claim_next].version = version;
	claims[claim_next].subxid = subxid;
	claims[claim_next].lxid = lxid;
	claims[claim_next].generation = fc_catalog_generation;
	claim_next = (claim_next + 1) % FC_CLAIM_SLOTS;
	return version;
}

int32
fc_catalog_claim_action_version(int64 flow_id, int64 action_id)
{
	static FcQuery q = {
		"SELECT flow_version FROM flowcontrol.flow_action WHERE id = $1 AND flow_id = $2 FOR KEY SHARE",
		2, {INT8OID, INT8OID}
	};
	Datum		args[2] = {Int64GetDatum(action_id), Int64GetDatum(flow_id)};
	int32		version = 0;

	for (;;)
	{
		bool		isnull;
		int32		found;

		fc_catalog_exec(&q, args, NULL, 1);
		if (SPI_processed == 0)
			return 0;
		found = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (found == version)
			return version;
		version = found;
		(void) lock_version(flow_id, version, ShareLock, false);
	}
}

int32
fc_catalog_current_version(int64 flow_id)
{
	static FcQuery q = {
		"SELECT version FROM flowcontrol.flow WHERE id = $1", 1, {INT8OID}
	};
	Datum		arg = Int64GetDatum(flow_id);
	bool		isnull;

	fc_catalog_exec(&q, &arg, NULL, 1);
	if (SPI_processed == 0)
		return 0;
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

int
fc_catalog_prune_versions(int64 flow_id)
{
	static FcQuery earlier_q = {
		"SELECT version FROM flowcontrol.flow_version WHERE flow_id = $1 AND version < $2"
		" UNION SELECT flow_version FROM flowcontrol.flow_action WHERE flow_id = $1 AND flow_version < $2"
		" ORDER BY 1",
		2, {INT8OID, INT4OID}
	};
	static FcQuery busy_q = {
		"SELECT 1 FROM flowcontrol.flow_run WHERE flow_id = $1 AND flow_version = $2"
		" AND status OPERATOR(pg_catalog.<>) 'done' LIMIT 1",
		2, {INT8OID, INT4OID}
	};
	static FcQuery delete_actions_q = {
		"DELETE FROM flowcontrol.flow_action WHERE flow_id = $1 AND flow_version = $2",
		2, {INT8OID, INT4OID}
	};
	static FcQuery delete_version_q = {
		"DELETE FROM flowcontrol.flow_version WHERE flow_id = $1 AND version = $2",
		2, {INT8OID, INT4OID}
	};
	Datum		args[2];
	bool		isnull;
	int32	   *versions;
	int			n;
	int			i;
	int			pruned = 0;

	/* a transaction snapshot could miss runs pinned since it was taken */
	if (IsolationUsesXactSnapshot())
		return 0;
	args[0] = Int64GetDatum(flow_id);
	args[1] = Int32GetDatum(fc_catalog_current_version(flow_id));
	if (DatumGetInt32(args[1]) == 0)
		return 0;
	fc_catalog_exec(&earlier_q, args, NULL, 0);
	n = (int) SPI_processed;
	versions = palloc(sizeof(int32) * Max(n, 1));
	for (i = 0; i < n; i++)
		versions[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

	for (i = 0; i < n; i++)
	{
		/* a run is being pinned to it: leave it for later */
		if (!lock_version(flow_id, versions[i], ExclusiveLock, true))
			continue;
		args[1] = Int32GetDatum(versions[i]);
		fc_catalog_exec(&busy_q, args, NULL, 1);
		if (SPI_processed > 0)
			continue;
		fc_catalog_exec(&delete_actions_q, args, NULL, 0);
		fc_catalog_exec(&delete_version_q, args, NULL, 0);
		pruned++;
	}
	pfree(versions);
	return pruned;
}

/* ---------------------------------------------------------------------
 * Action types and flows
 *
 * Both caches live in "flowcontrol definition cache", rebuilt when the
 * catalog generation changes.  Flow entries each own a child context; a
 * flow dropped from the cache mid-transaction is kept until the
 * transaction ends, because the engine may still be executing it.
 * ---------------------------------------------------------------------
 */
typedef struct FcFlowKey
{
	int64		flow_id;
	int32		version;		/* 0: the current version */
} FcFlowKey;

typedef struct FcFlowEntry
{
	FcFlowKey	key;
	FcFlow	   *flow;
} FcFlowEntry;

typedef struct FcTypeEntry
{
	char		name[NAMEDATALEN * 2];
	FcActionType type;
} FcTypeEntry;

static MemoryContext definition_cxt = NULL;
static HTAB *flow_cache = NULL;
static HTAB *type_cache = NULL;
static uint64 definition_generation = 0;
static List *stale_flows = NIL; /* contexts to free at transaction end */
static bool xact_callback_registered = false;

static void
free_stale_flows(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	foreach(lc, stale_flows)
		MemoryContextDelete((MemoryContext) lfirst(lc));
	list_free(stale_flows);
	stale_flows = NIL;
}

static void
reset_definition_cache(void)
{
	HASHCTL		ctl;

	if (definition_cxt == NULL)
		definition_cxt = AllocSetContextCreate(TopMemoryContext,
											   "flowcontrol definition cache",
											   ALLOCSET_DEFAULT_SIZES);
	if (!xact_callback_registered)
	{
		RegisterXactCallback(free_stale_flows, NULL);
		xact_callback_registered = true;
	}

	if (flow_cache)
	{
		HASH_SEQ_STATUS status;
		FcFlowEntry *entry;
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		hash_seq_init(&status, flow_cache);
		while ((entry = hash_seq_search(&status)) != NULL)
		{
			MemoryContextSetParent(entry->flow->cxt, TopMemoryContext);
			stale_flows = lappend(stale_flows, entry->flow->cxt);
		}
		MemoryContextSwitchTo(old);
		hash_destroy(flow_cache);
		flow_cache = NULL;
	}
	if (type_cache)
	{
		hash_destroy(type_cache);
		type_cache = NULL;
	}
	MemoryContextReset(definition_cxt);

	ctl.keysize = sizeof(FcFlowKey);
	ctl.entrysize = sizeof(FcFlowEntry);
	ctl.hcxt = definition_cxt;
	flow_cache = hash_create("flowcontrol flow cache", 64, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = NAMEDATALEN * 2;
	ctl.entrysize = sizeof(FcTypeEntry);
	ctl.hcxt = definition_cxt;
	type_cache = hash_create("flowcontrol action type cache", 32, &ctl,
							 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	definition_generation = fc_catalog_generation;
}

static void
check_definition_cache(void)
{
	if (flow_cache == NULL || definition_generation != fc_catalog_generation)
		reset_definition_cache();
}

static const struct
{
	const char *name;
	FcActionKind kind;
}			builtin_kinds[] = {
	{"IfAction", FC_ACTION_IF},
	{"WhileLoopAction", FC_ACTION_WHILE},
	{"ForLoopAction", FC_ACTION_FOR},
	{"LeaveAction", FC_ACTION_LEAVE},
	{"BreakAction", FC_ACTION_BREAK},
	{"AbortAction", FC_ACTION_ABORT},
	{"SetStateAction", FC_ACTION_SET_STATE},
	{"UpdateStateAction", FC_ACTION_UPDATE_STATE},
	{"StartFlowAction", FC_ACTION_START_FLOW},
	{"DelayAction", FC_ACTION_DELAY},
	{"WaitForTriggerAction", FC_ACTION_WAIT_FOR_TRIGGER},
	{"SendAlertAction", FC_ACTION_SEND_ALERT},
};

static void
load_action_types(void)
{
	static FcQuery q = {
		"SELECT name, builtin, has_children, run_function, return_function"
		" FROM flowcontrol.action_type", 0, {InvalidOid}
	};
	uint64		i;
	MemoryContext old;
	bool		connected = false;

	if (hash_get_num_entries(type_cache) > 0)
		return;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	connected = true;
	fc_catalog_exec(&q, NULL, NULL, 0);

	old = MemoryContextSwitchTo(definition_cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *name = SPI_getvalue(tup, desc, 1);
		bool		isnull;
		bool		builtin = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
		FcTypeEntry *entry;
		int			k;

		if (strlen(name) >= NAMEDATALEN * 2)
			continue;			/* cannot happen: names are at most 100 chars */
		entry = hash_search(type_cache, name, HASH_ENTER, NULL);
		entry->type.name = pstrdup(name);
		entry->type.has_children = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		entry->type.run_signature = SPI_getvalue(tup, desc, 4);
		entry->type.return_signature = SPI_getvalue(tup, desc, 5);
		entry->type.kind = FC_ACTION_USER;
		if (builtin)
		{
			for (k = 0; k < lengthof(builtin_kinds); k++)
				if (strcmp(builtin_kinds[k].name, name) == 0)
					entry->type.kind = builtin_kinds[k].kind;
		}
	}
	MemoryContextSwitchTo(old);
	if (connected)
		SPI_finish();
}

const FcActionType *
fc_catalog_get_action_type(const char *name)
{
	FcTypeEntry *entry;

	if (name == NULL)
		return NULL;
	check_definition_cache();
	load_action_types();
	if (strlen(name) >= NAMEDATALEN * 2)
		return NULL;
	entry = hash_search(type_cache, name, HASH_FIND, NULL);
	return entry ? &entry->type : NULL;
}

static int
compare_action_ids(const void *a, const void *b)
{
	int64		x = ((const FcAction *) a)->id;
	int64		y = ((const FcAction *) b)->id;

	return (x > y) - (x < y);
}

int
fc_flow_action_index(const FcFlow *flow, int64 action_id)
{
	int			lo = 0;
	int			hi = flow->nactions - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (flow->actions[mid].id == action_id)
			return mid;
		if (flow->actions[mid].id < action_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static FcFlow *
load_flow(int64 flow_id, int32 version)
{
	static FcQuery flow_q = {
		"SELECT name, active_at, max_concurrent, max_per_object, max_concurrent_per_object,"
		" object_table::pg_catalog.oid, condition, owner::pg_catalog.oid, version"
		" FROM flowcontrol.flow WHERE id = $1", 1, {INT8OID}
	};
	static FcQuery kept_q = {
		"SELECT 1 FROM flowcontrol.flow_version WHERE flow_id = $1 AND version = $2",
		2, {INT8OID, INT4OID}
	};

	/* Siblings come in order: parent, then position, then id. */
	static FcQuery actions_q = {
		"SELECT id, parent_id, action, description, config, timeout, retry FROM flowcontrol.flow_action"
		" WHERE flow_id = $1 AND flow_version = $2 ORDER BY parent_id NULLS FIRST, position, id",
		2, {INT8OID, INT4OID}
	};
	Datum		arg = Int64GetDatum(flow_id);
	Datum		args[2];
	MemoryContext cxt;
	MemoryContext old;
	FcFlow	   *flow;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	uint64		i;
	int64	   *order_ids;
	int64	   *parent_ids;
	int			n;
	int		   *last_child;
	int			last_root = -1;
	MemoryContext caller_cxt = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	fc_catalog_exec(&flow_q, &arg, NULL, 1);
	if (SPI_processed == 0)
	{
		SPI_finish();
		return NULL;
	}

	/*
	 * Built outside the cache context: looking up action types below may
	 * reset the cache.  Built under the caller's context, so that an error
	 * part-way frees it with that context (as plancache builds a plan);
	 * fc_catalog_get_flow() reparents it to a long-lived context when done.
	 */
	cxt = AllocSetContextCreate(caller_cxt, "flowcontrol flow",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	flow = palloc0(sizeof(FcFlow));
	flow->cxt = cxt;
	flow->id = flow_id;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	flow->name = SPI_getvalue(tup, desc, 1);
	d = SPI_getbinval(tup, desc, 2, &isnull);
	flow->has_active_at = !isnull;
	if (!isnull)
		flow->active_at = DatumGetTimestampTz(d);
	flow->max_concurrent = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
	flow->max_per_object = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
	flow->max_concurrent_per_object = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
	d = SPI_getbinval(tup, desc, 6, &isnull);
	flow->object_table = isnull ? InvalidOid : DatumGetObjectId(d);
	flow->condition = SPI_getvalue(tup, desc, 7);
	if (flow->condition == NULL)
		flow->condition = pstrdup("");
	flow->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 8, &isnull));
	flow->version = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	flow->tree_version = version > 0 ? version : flow->version;
	MemoryContextSwitchTo(old);

	args[0] = arg;
	args[1] = Int32GetDatum(flow->tree_version);
	if (flow->tree_version != flow->version)
	{
		/* an earlier version is kept while runs use it, a later one never is */
		fc_catalog_exec(&kept_q, args, NULL, 1);
		flow->tree_missing = flow->tree_version > flow->version || SPI_processed == 0;
	}
	fc_catalog_exec(&actions_q, args, NULL, 0);
	old = MemoryContextSwitchTo(cxt);
	n = (int) SPI_processed;
	flow->nactions = n;
	flow->actions = palloc0(sizeof(FcAction) * Max(n, 1));
	order_ids = palloc(sizeof(int64) * Max(n, 1));
	parent_ids = palloc(sizeof(int64) * Max(n, 1));
	desc = SPI_tuptable->tupdesc;
	for (i = 0; i < SPI_processed; i++)
	{
		FcAction   *a = &flow->actions[i];
		char	   *typename;

		tup = SPI_tuptable->vals[i];
		a->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		d = SPI_getbinval(tup, desc, 2, &isnull);
		parent_ids[i] = isnull ? 0 : DatumGetInt64(d);
		order_ids[i] = a->id;
		typename = SPI_getvalue(tup, desc, 3);
		{
			const FcActionType *type = fc_catalog_get_action_type(typename);
			FcActionType *copy;

			if (type == NULL)
				elog(ERROR, "action type \"%s\" of flow action " INT64_FORMAT " is not registered",
					 typename, a->id);
			/* a private copy: the type cache may be rebuilt while we load */
			copy = palloc(sizeof(FcActionType));
			copy->name = pstrdup(type->name);
			copy->kind = type->kind;
			copy->has_children = type->has_children;
			copy->run_signature = type->run_signature ? pstrdup(type->run_signature) : NULL;
			copy->return_signature = type->return_signature ? pstrdup(type->return_signature) : NULL;
			a->type = copy;
		}
		a->description = SPI_getvalue(tup, desc, 4);
		a->config = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 5, &isnull));
		{
			bool		timeout_isnull;
			bool		retry_isnull;
			Datum		timeout = SPI_getbinval(tup, desc, 6, &timeout_isnull);
			Datum		retry = SPI_getbinval(tup, desc, 7, &retry_isnull);

			fc_policy_load(a, timeout, timeout_isnull, retry, retry_isnull, flow_id);
		}
	}

	/* Keep parent links by id while sorting by id, then link the tree. */
	for (i = 0; i < n; i++)
		flow->actions[i].parent = -1;
	{
		/* remember each action's parent id through the sort */
		int64	   *parent_of = palloc(sizeof(int64) * Max(n, 1));
		int			j;

		for (i = 0; i < n; i++)
			flow->actions[i].first_child = (int) i; /* original order index */
		qsort(flow->actions, n, sizeof(FcAction), compare_action_ids);
		for (j = 0; j < n; j++)
		{
			flow->actions[j].index = j;
			parent_of[j] = parent_ids[flow->actions[j].first_child];
		}
		for (j = 0; j < n; j++)
		{
			flow->actions[j].parent = parent_of[j] ? fc_flow_action_index(flow, parent_of[j]) : -1;
			flow->actions[j].first_child = -1;
			flow->actions[j].next_sibling = -1;
		}
	}

	/* Link siblings in the query's order (parent, position, id). */
	last_child = palloc(sizeof(int) * Max(n, 1));
	for (i = 0; i < n; i++)
		last_child[i] = -1;
	flow->first_root = -1;
	for (i = 0; i < n; i++)
	{
		int			idx = fc_flow_action_index(flow, order_ids[i]);
		FcAction   *a = &flow->actions[idx];

		if (a->parent < 0)
		{
			if (last_root < 0)
				flow->first_root = idx;
			else
				flow->actions[last_root].next_sibling = idx;
			last_root = idx;
		}
		else
		{
			FcAction   *p = &flow->actions[a->parent];

			if (last_child[a->parent] < 0)
				p->first_child = idx;
			else
				flow->actions[last_child[a->parent]].next_sibling = idx;
			last_child[a->parent] = idx;
		}
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	return flow;
}

FcFlow *
fc_catalog_get_flow(int64 flow_id)
{
	return fc_catalog_get_flow_version(flow_id, 0);
}

FcFlow *
fc_catalog_get_flow_version(int64 flow_id, int32 version)
{
	FcFlowEntry *entry;
	bool		found;
	FcFlow	   *flow;
	FcFlowKey	key;
	uint64		generation;

	check_definition_cache();
	memset(&key, 0, sizeof(key));
	key.flow_id = flow_id;
	if (version != 0)
	{
		/* the current version's entry serves runs pinned to it */
		entry = hash_search(flow_cache, &key, HASH_FIND, &found);
		if (found && entry->flow->tree_version == version)
			return entry->flow;
		key.version = version;
	}
	entry = hash_search(flow_cache, &key, HASH_FIND, &found);
	if (found)
		return entry->flow;

	generation = fc_catalog_generation;
	flow = load_flow(flow_id, version);
	if (flow == NULL)
		return NULL;

	/* Loading ran queries, which may have processed invalidations. */
	check_definition_cache();
	if (generation != fc_catalog_generation)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		/* valid for this transaction, freed at its end */
		MemoryContextSetParent(flow->cxt, TopMemoryContext);
		stale_flows = lappend(stale_flows, flow->cxt);
		MemoryContextSwitchTo(old);
		return flow;
	}
	MemoryContextSetParent(flow->cxt, definition_cxt);
	entry = hash_search(flow_cache, &key, HASH_ENTER, NULL);
	entry->flow = flow;
	return flow;
}

bool
fc_flow_is_active(const FcFlow *flow)
{
	return flow->has_active_at && flow->active_at <= fc_now(flow->owner);
}

/* ---------------------------------------------------------------------
 * Objects: the row a run is attached to, by its single-column primary key
 * ---------------------------------------------------------------------
 */
typedef struct FcObjectPlan
{
	Oid			relid;			/* hash key */
	bool		valid;			/* cleared by relcache invalidation */
	SPIPlanPtr	plan;			/* the row as jsonb */
	SPIPlanPtr	lock_plan;		/* lock the row FOR NO KEY UPDATE */
	Oid			keytype;
	Oid			infunc;
	Oid			ioparam;
} FcObjectPlan;

static HTAB *object_plans = NULL;

static void
object_plan_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	FcObjectPlan *entry;

	if (object_plans == NULL)
		return;
	hash_seq_init(&status, object_plans);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || entry->relid == relid)
			entry->valid = false;
	}
}

AttrNumber
fc_catalog_object_key(Oid table, Oid *keytype)
{
	Relation	rel;
	Oid			pkindex;
	AttrNumber	attnum = InvalidAttrNumber;

	rel = try_table_open(table, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", table),
				 errdetail("An object table must be an existing table.")));
	pkindex = RelationGetPrimaryKeyIndex(rel, false);
	if (OidIsValid(pkindex))
	{
		HeapTuple	indtup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkindex));
		Form_pg_index ind;

		if (!HeapTupleIsValid(indtup))
			elog(ERROR, "cache lookup failed for index %u", pkindex);
		ind = (Form_pg_index) GETSTRUCT(indtup);
		if (ind->indnkeyatts == 1 && ind->indkey.values[0] > 0)
			attnum = ind->indkey.values[0];
		ReleaseSysCache(indtup);
	}
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("table \"%s\" has no single-column primary key",
						RelationGetRelationName(rel)),
				 errdetail("Flow runs are attached to rows by a primary key of one column.")));
	if (keytype)
		*keytype = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid;
	table_close(rel, AccessShareLock);
	return attnum;
}

static FcObjectPlan *
get_object_plan(Oid table)
{
	FcObjectPlan *entry;
	bool		found;
	Relation	rel;
	Oid			pkindex;
	AttrNumber	attnum;
	Oid			keytype;
	Oid			opfamily;
	Oid			eqop;
	StringInfoData sql;
	SPIPlanPtr	plan;
	HeapTuple	optup;
	Oid			opnamespace;

	if (object_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(FcObjectPlan);
		object_plans = hash_create("flowcontrol object plans", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(object_plan_callback, (Datum) 0);
	}

	entry = hash_search(object_plans, &table, HASH_ENTER, &found);
	if (found && entry->valid)
		return entry;
	if (found && entry->plan)
		SPI_freeplan(entry->plan);
	if (found && entry->lock_plan)
		SPI_freeplan(entry->lock_plan);
	entry->plan = NULL;
	entry->lock_plan = NULL;
	entry->valid = false;

	attnum = fc_catalog_object_key(table, &keytype);

	rel = table_open(table, AccessShareLock);
	pkindex = RelationGetPrimaryKeyIndex(rel, false);
	{
		Relation	idx = index_open(pkindex, AccessShareLock);

		opfamily = idx->rd_opfamily[0];
		index_close(idx, AccessShareLock);
	}
	eqop = get_opfamily_member(opfamily, keytype, keytype, BTEqualStrategyNumber);
	if (!OidIsValid(eqop))
		elog(ERROR, "no equality operator for the primary key of \"%s\"",
			 RelationGetRelationName(rel));

	optup = SearchSysCache1(OPEROID, ObjectIdGetDatum(eqop));
	if (!HeapTupleIsValid(optup))
		elog(ERROR, "cache lookup failed for operator %u", eqop);
	opnamespace = ((Form_pg_operator) GETSTRUCT(optup))->oprnamespace;
	ReleaseSysCache(optup);

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.to_jsonb(t) FROM %s.%s t WHERE t.%s OPERATOR(%s.%s) $1",
					 quote_identifier(get_namespace_name(RelationGetNamespace(rel))),
					 quote_identifier(RelationGetRelationName(rel)),
					 quote_identifier(get_attname(table, attnum, false)),
					 quote_identifier(get_namespace_name(opnamespace)),
					 get_opname(eqop));
	table_close(rel, AccessShareLock);

	plan = SPI_prepare(sql.data, 1, &keytype);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql.data,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	entry->plan = plan;

	/* the same row, locked: "SELECT 1 FROM ... FOR NO KEY UPDATE" */
	{
		char	   *from = strstr(sql.data, " FROM ");
		char	   *lock_sql = psprintf("SELECT 1%s FOR NO KEY UPDATE", from);

		plan = SPI_prepare(lock_sql, 1, &keytype);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", lock_sql,
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		entry->lock_plan = plan;
	}
	pfree(sql.data);

	entry->keytype = keytype;
	getTypeInputInfo(keytype, &entry->infunc, &entry->ioparam);
	entry->valid = true;
	return entry;
}

bool
fc_catalog_lock_object(Oid table, const char *object_id)
{
	FcObjectPlan *op;
	Datum		key;
	int			rc;
	FcOwnerEnv	env;

	/*
	 * The row is locked as the current user, who must be able to lock it
	 * (SELECT and UPDATE on the table): a role never locks, or learns the
	 * existence of, rows it could not lock itself.  Otherwise: "no row".
	 */
	if (pg_class_aclcheck(table, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		pg_class_aclcheck(table, GetUserId(), ACL_UPDATE) != ACLCHECK_OK)
		return false;
	op = get_object_plan(table);

	key = OidInputFunctionCall(op->infunc, (char *) object_id, op->ioparam, -1);
	/* the key's operator is the table owner's code: a hook of the user's */
	fc_owner_enter(&env, GetUserId());
	rc = SPI_execute_plan(op->lock_plan, &key, NULL, false, 1);
	fc_owner_leave(&env);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	return SPI_processed > 0;
}

Jsonb *
fc_catalog_fetch_object(Oid table, const char *object_id)
{
	FcObjectPlan *op = get_object_plan(table);
	Datum		key;
	int			rc;
	bool		isnull;
	Datum		d;

	key = OidInputFunctionCall(op->infunc, (char *) object_id, op->ioparam, -1);
	rc = SPI_execute_plan(op->plan, &key, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return NULL;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return NULL;
	return DatumGetJsonbPCopy(d);
}

/* ---------------------------------------------------------------------
 * Triggers by name, cached alongside flows
 * ---------------------------------------------------------------------
 */
typedef struct FcTriggerEntry
{
	char		name[NAMEDATALEN * 2];
	FcTriggerList list;
} FcTriggerEntry;

static HTAB *trigger_cache = NULL;
static uint64 trigger_cache_generation = 0;

FcTriggerList *
fc_catalog_get_triggers(const char *name)
{
	static FcQuery q = {
		"SELECT t.id, t.flow_id, t.create_flow, t.condition, t.active_at, f.active_at,"
		" COALESCE(f.owner, t.owner)::pg_catalog.oid, t.reset_to_action_id"
		" FROM flowcontrol.trigger t LEFT JOIN flowcontrol.flow f ON f.id = t.flow_id"
		" WHERE t.trigger_name = $1 ORDER BY t.id",
		1, {TEXTOID}
	};
	static FcQuery registered_q = {
		"SELECT owner::pg_catalog.oid FROM flowcontrol.trigger_type WHERE name = $1", 1, {TEXTOID}
	};
	static FcQuery grants_q = {
		"SELECT grantee::pg_catalog.oid FROM flowcontrol.trigger_grant"
		" WHERE trigger_name = $1 ORDER BY 1",
		1, {TEXTOID}
	};
	static FcTriggerList empty = {false, 0, NULL};
	bool		registered;
	Oid			name_owner = InvalidOid;
	int			ngrantees;
	Oid		   *grantees;
	FcTriggerEntry *entry;
	bool		found;
	Datum		arg;
	uint64		i;
	uint64		generation;
	MemoryContext old;

	if (strlen(name) >= NAMEDATALEN * 2)
		return &empty;

	check_definition_cache();
	if (trigger_cache == NULL || trigger_cache_generation != definition_generation)
	{
		HASHCTL		ctl;

		/* lives in definition_cxt, so it went with the last cache reset */
		ctl.keysize = NAMEDATALEN * 2;
		ctl.entrysize = sizeof(FcTriggerEntry);
		ctl.hcxt = definition_cxt;
		trigger_cache = hash_create("flowcontrol trigger cache", 16, &ctl,
									HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		trigger_cache_generation = definition_generation;
	}
	entry = hash_search(trigger_cache, name, HASH_FIND, &found);
	if (found)
		return &entry->list;

	generation = fc_catalog_generation;
	arg = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	fc_catalog_exec(&registered_q, &arg, NULL, 1);
	registered = SPI_processed > 0;
	if (registered)
	{
		bool		isnull;

		name_owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));
	}
	fc_catalog_exec(&grants_q, &arg, NULL, 0);
	ngrantees = (int) SPI_processed;
	grantees = palloc(sizeof(Oid) * Max(ngrantees, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		grantees[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
	}
	fc_catalog_exec(&q, &arg, NULL, 0);

	/* a query may process invalidations: then do not cache the answer */
	check_definition_cache();
	if (generation != fc_catalog_generation || trigger_cache_generation != definition_generation)
	{
		SPI_finish();
		return fc_catalog_get_triggers(name);
	}

	old = MemoryContextSwitchTo(definition_cxt);
	entry = hash_search(trigger_cache, name, HASH_ENTER, NULL);
	entry->list.registered = registered;
	entry->list.owner = name_owner;
	entry->list.ngrantees = ngrantees;
	entry->list.grantees = palloc(sizeof(Oid) * Max(ngrantees, 1));
	memcpy(entry->list.grantees, grantees, sizeof(Oid) * ngrantees);
	entry->list.ntriggers = (int) SPI_processed;
	entry->list.triggers = palloc0(sizeof(FcTrigger) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		FcTrigger  *t = &entry->list.triggers[i];
		bool		isnull;
		Datum		d;

		t->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		d = SPI_getbinval(tup, desc, 2, &isnull);
		t->flow_id = isnull ? 0 : DatumGetInt64(d);
		t->create_flow = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		t->condition = SPI_getvalue(tup, desc, 4);
		if (t->condition == NULL)
			t->condition = pstrdup("");
		d = SPI_getbinval(tup, desc, 5, &isnull);
		t->has_active_at = !isnull;
		if (!isnull)
			t->active_at = DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		t->flow_has_active_at = !isnull;
		if (!isnull)
			t->flow_active_at = DatumGetTimestampTz(d);
		t->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 7, &isnull));
		d = SPI_getbinval(tup, desc, 8, &isnull);
		t->reset_to_action_id = isnull ? 0 : DatumGetInt64(d);
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	return &entry->list;
}

bool
fc_trigger_is_active(const FcTrigger *trigger)
{
	TimestampTz now = fc_now(trigger->owner);

	if (!trigger->has_active_at || trigger->active_at > now)
		return false;
	if (trigger->flow_id != 0 &&
		(!trigger->flow_has_active_at || trigger->flow_active_at > now))
		return false;
	return true;
}

/*
 * Module start-up (from _PG_init): the relcache callback that tracks
 * definition changes.
 */
void
fc_catalog_init(void)
{
	CacheRegisterRelcacheCallback(fc_relcache_callback, (Datum) 0);
}
