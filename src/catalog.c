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
 * Runs change constantly and are never cached.  All reads and writes of
 * the extension's tables happen as the extension owner, so that a role
 * with no privileges on them (say, one writing to a table with a flow
 * trigger) can still cause flows to run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "expr.h"

uint64		fc_catalog_generation = 1;

/* Cached OIDs, valid while cached_generation == fc_catalog_generation. */
static uint64 cached_generation = 0;
static Oid	cached_namespace = InvalidOid;
static Oid	cached_owner = InvalidOid;

/* The definition tables, whose changes bump fc_catalog_generation. */
static const char *const watched_names[] = {
	"flow", "flow_action", "trigger", "action_type", "trigger_type", "filter"
};
#define FC_NUM_WATCHED lengthof(watched_names)
static Oid	watched_relids[FC_NUM_WATCHED];

/*
 * Relcache invalidation callback.  No catalog access here: compare with the
 * table OIDs looked up in refresh_oids().  Until they are known, any
 * invalidation counts.
 */
static void
fc_relcache_callback(Datum arg, Oid relid)
{
	int			i;

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

void
fc_catalog_init(void)
{
	CacheRegisterRelcacheCallback(fc_relcache_callback, (Datum) 0);
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
fc_catalog_type(const char *name)
{
	Oid			typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										CStringGetDatum(name),
										ObjectIdGetDatum(fc_catalog_namespace()));

	if (!OidIsValid(typid))
		elog(ERROR, "type flowcontrol.%s does not exist", name);
	return typid;
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
fc_catalog_exec(FcQuery *q, Datum *values, const char *nulls,
				bool read_only, long tcount)
{
	FcUserSwitch save;
	int			rc;

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

	fc_catalog_become(&save, fc_catalog_extension_owner());
	rc = SPI_execute_plan(q->plan, values, nulls, read_only, tcount);
	fc_catalog_restore(&save);

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
	fc_catalog_exec(&q, &arg, NULL, true, 1);
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
