/*-------------------------------------------------------------------------
 *
 * flowcache.c
 *	  The definition cache: flows with their action trees, action types,
 *	  trigger names with their triggers and grants, and filters.
 *
 * Definitions change rarely and are read on every execution, so each
 * backend caches them, keyed by what the engine asks for: a flow by
 * (flow, version), 0 standing for the current version; an action type,
 * trigger name or filter by name.  Each cache remembers the catalog
 * generation (catalog.c) it was built at and is rebuilt on its next use
 * after the generation moved, so a definition change is seen at the next
 * command of the session that made it and when it commits by the others.
 * Entries are read as the extension owner through catalog.c's prepared
 * queries.
 *
 * Memory: flows, action types and triggers live in "flowcontrol definition
 * cache", a child of TopMemoryContext; each flow owns a child context.  A
 * flow dropped from the cache mid-transaction is reparented and kept until
 * the transaction ends, because the engine may still be executing it; a
 * flow loaded while the generation moved is returned but not cached.
 * Filters have their own hash table.  No locks are taken beyond the
 * queries' own.
 *
 * It also answers the questions that need a cached flow's or trigger's
 * owner: whether it is active now (fc_flow_is_active(),
 * fc_trigger_is_active()) and what time it is for a flow's runs
 * (fc_now_for_flow()), both through clock.c.
 *
 * Must not: write any table, read runs (runs.c), or call anything but
 * catalog.c, clock.c and action_policy.c (which decodes an action's
 * timeout and retry while its flow loads).  Callers must not keep an entry
 * past the current transaction, and a trigger list is valid only until
 * definitions change: callers that run user code while using it copy it
 * first.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "action_policy.h"
#include "catalog.h"
#include "clock.h"
#include "flowcache.h"


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

/*
 * Set a loading flow action's timeout_ms and retry from its columns (as
 * they were checked when saved; action_policy.c decodes them).
 */
static void
load_action_policy(FcAction *a, Datum timeout, bool timeout_isnull,
				   Datum retry, bool retry_isnull, int64 flow_id)
{
	char	   *where = psprintf("action " INT64_FORMAT " of flow " INT64_FORMAT, a->id, flow_id);

	a->timeout_ms = timeout_isnull ? 0 :
		fc_policy_timeout_ms(DatumGetIntervalP(timeout), a->type->name, where);
	a->retry = retry_isnull ? NULL :
		fc_policy_retry(DatumGetJsonbP(retry), a->type->name, where);
	pfree(where);
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

			load_action_policy(a, timeout, timeout_isnull, retry, retry_isnull, flow_id);
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
	/* the current version is kept as the flow's entry, not a second copy */
	if (flow->tree_version == flow->version)
		key.version = 0;
	entry = hash_search(flow_cache, &key, HASH_ENTER, NULL);
	entry->flow = flow;
	return flow;
}

TimestampTz
fc_now_for_flow(int64 flow_id)
{
	FcFlow	   *flow;

	if (!fc_clock_shifted())
		return GetCurrentTransactionStartTimestamp();
	flow = fc_catalog_get_flow(flow_id);
	return fc_now(flow != NULL ? flow->owner : InvalidOid);
}

bool
fc_flow_is_active(const FcFlow *flow)
{
	return flow->has_active_at && flow->active_at <= fc_now(flow->owner);
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
