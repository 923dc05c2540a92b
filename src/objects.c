/*-------------------------------------------------------------------------
 *
 * objects.c
 *	  Object tables: the row a run is attached to, found by the table's
 *	  single-column primary key, locked and fetched as jsonb.
 *
 * An object table is any table of the user's with a single-column primary
 * key.  For each table used, a backend keeps two plans (the row as jsonb,
 * and the row locked FOR NO KEY UPDATE), built with the key's own equality
 * operator, schema-qualified, and forgotten at any relcache invalidation
 * of the table.
 *
 * Unlike the other catalog rooms, these queries run as the current user,
 * not as the extension owner: a role never reads, locks, or learns the
 * existence of rows it could not reach itself.  The key's equality
 * operator is the table owner's code, so the lock runs inside
 * fc_owner_enter()/fc_owner_leave() (owner.c).  Plans are kept in
 * CacheMemoryContext (SPI_keepplan), the plan table in TopMemoryContext;
 * results in the caller's memory context.  Caller is connected to SPI.
 *
 * Must not: read or write flowcontrol's own tables, nor cache row contents.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_index.h"
#include "catalog/pg_operator.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "objects.h"
#include "owner.h"


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
