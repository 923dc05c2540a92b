/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  The extension's identity: its schema, owner, tables, types and enums;
 *	  the switch to its owner; the prepared queries against its tables; and
 *	  the catalog generation that tells every cache when definitions change.
 *
 * This is the bottom room of the catalog.  Every other room (versions.c,
 * runs.c, flowcache.c, objects.c) reads and writes flowcontrol's tables
 * through fc_catalog_exec(), which runs a kept plan as the extension owner
 * under a search_path pinned to pg_catalog: so a role with no privileges on
 * the tables (say, one writing to a table with a flow trigger) can still
 * cause flows to run, and a hostile search_path cannot substitute operators
 * or functions in those queries.
 *
 * Definitions change rarely and are read on every execution, so they are
 * cached per backend (flowcache.c).  A statement trigger on each definition
 * table calls flowcontrol_invalidate(), which queues a relcache invalidation
 * for that table; every backend's relcache callback here then bumps
 * fc_catalog_generation, and caches built at an older generation -- the
 * OIDs below, the definition cache, the type and enum OIDs -- are rebuilt
 * on next use.  The invalidation travels with the transaction: other
 * sessions see it when it commits, this session at its next command, and an
 * aborted transaction's own changes are flushed too.
 *
 * Owns: the static OID caches (schema, owner, definition tables, flow_run
 * and its directly read indexes, types, enum labels), the relcache callback,
 * fc_catalog_generation.  Holds no lock beyond what the syscache and SPI
 * take; allocates only in the caller's memory context (kept plans live in
 * CacheMemoryContext through SPI_keepplan).
 *
 * Must not: cache definitions (flowcache.c does), read or write a run row
 * (runs.c), or call any other flowcontrol file but compat.h: everything in
 * the catalog rooms builds on this one.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "compat.h"


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

Datum
fc_catalog_trigger_column(TriggerData *td, HeapTuple tuple, const char *name, bool *isnull)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "column \"%s\" not found", name);
	return heap_getattr(tuple, attnum, desc, isnull);
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

/*
 * Module start-up (from _PG_init): the relcache callback that tracks
 * definition changes.
 */
void
fc_catalog_init(void)
{
	CacheRegisterRelcacheCallback(fc_relcache_callback, (Datum) 0);
}
