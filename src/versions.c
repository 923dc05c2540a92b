/*-------------------------------------------------------------------------
 *
 * versions.c
 *	  Flow versions: claiming the version a run is pinned to, and pruning
 *	  the earlier versions no run uses.
 *
 * Flows are versioned: each version keeps its own flow_action rows
 * (flow_action.flow_version), and flowcache.c holds a flow with the action
 * tree of one version.  A run is pinned to a version (flow_run.flow_version)
 * when it is created or reset, under a share lock of that version (an
 * advisory lock of its own tag, taken before the version is read and kept
 * to the end of the transaction); fc_catalog_prune_versions() removes an
 * earlier version only with the exclusive lock, taken without waiting, and
 * only when no run that is not done uses it (else it gives the lock back at
 * once).  So a version never disappears under a run being pinned to it, and
 * a deploy or a run ending never waits for one.
 *
 * Owns: the version lock tag and the per-subtransaction cache of claimed
 * versions (static, no memory of its own).  Reads and deletes through
 * catalog.c's prepared queries; the caller is connected to SPI.
 *
 * Must not: read or write run rows beyond the check that no run uses a
 * version, nor cache flows (flowcache.c does).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"

#include "catalog.h"
#include "compat.h"
#include "versions.h"


/* lock tag field4 of version locks (the engine's limit locks use 0x4643) */
#define FC_LOCKTAG_VERSION 0x4656

/* distinct flows may share a tag: then one only waits for the other */
#define SET_VERSION_LOCKTAG(tag, flow_id, version) \
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (flow_id) ^ (uint32) ((flow_id) >> 32), \
						 (uint32) (version), FC_LOCKTAG_VERSION)

/* Lock a version of a flow; with dontwait, false when that would wait. */
static bool
lock_version(int64 flow_id, int32 version, LOCKMODE mode, bool dontwait)
{
	LOCKTAG		tag;

	SET_VERSION_LOCKTAG(tag, flow_id, version);
	return LockAcquire(&tag, mode, false, dontwait) != LOCKACQUIRE_NOT_AVAIL;
}

/* Give back a version lock taken by lock_version() in this resource owner. */
static void
unlock_version(int64 flow_id, int32 version, LOCKMODE mode)
{
	LOCKTAG		tag;

	SET_VERSION_LOCKTAG(tag, flow_id, version);
	LockRelease(&tag, mode, false);
}

/* Versions claimed in this subtransaction (runs.c's FcKeyLock cache, for versions) */
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
		{
			/*
			 * Kept: nothing was removed, so the lock need not be held to the
			 * end of the transaction, where it would make a reset onto this
			 * version wait for it.
			 */
			unlock_version(flow_id, versions[i], ExclusiveLock);
			continue;
		}
		fc_catalog_exec(&delete_actions_q, args, NULL, 0);
		fc_catalog_exec(&delete_version_q, args, NULL, 0);
		pruned++;
	}
	pfree(versions);
	return pruned;
}
