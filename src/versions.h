/*-------------------------------------------------------------------------
 *
 * versions.h
 *	  Flow versions: claiming the version a run is pinned to, pruning
 *	  earlier ones (versions.c).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_VERSIONS_H
#define FC_VERSIONS_H

/*
 * A run executes the actions of the version it was pinned to.  Pinning a
 * run to a version (creating or resetting it) holds a share lock on the
 * version (an advisory lock of flowcontrol's own tag) until the transaction
 * ends; removing an earlier version needs the exclusive lock without
 * waiting, so a version is never removed under a run being pinned to it.
 */

/*
 * The flow's current version, locked for pinning a run to it: share-locks
 * version_hint, then reads the flow row FOR KEY SHARE (as the run's
 * foreign key would) and retries until the version read is the one locked.
 * Cached per subtransaction.  Errors if the flow does not exist.  Caller is
 * connected to SPI.
 */
extern int32 fc_catalog_claim_version(int64 flow_id, int32 version_hint);

/*
 * The version of a flow's action, share-locked for pinning a run to it;
 * 0 if the flow has no such action.  Caller is connected to SPI.
 */
extern int32 fc_catalog_claim_action_version(int64 flow_id, int64 action_id);

/*
 * The flow's current version, read afresh (0 if there is no such flow).
 * Caller is connected to SPI.
 */
extern int32 fc_catalog_current_version(int64 flow_id);

/*
 * Remove the earlier versions of a flow (their documents and actions) that
 * no run that is not done uses and nobody is pinning a run to; returns how
 * many.  Does nothing outside READ COMMITTED (a transaction snapshot could
 * miss runs committed meanwhile).  Caller is connected to SPI.
 */
extern int	fc_catalog_prune_versions(int64 flow_id);

#endif							/* FC_VERSIONS_H */
