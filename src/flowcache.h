/*-------------------------------------------------------------------------
 *
 * flowcache.h
 *	  The definition cache: flows with their action trees, action types,
 *	  triggers by name, filters (flowcache.c).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_FLOWCACHE_H
#define FC_FLOWCACHE_H

#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "action_policy.h"

/* ---- Flows and their action trees ---- */

typedef enum FcActionKind
{
	FC_ACTION_USER,
	FC_ACTION_IF,
	FC_ACTION_WHILE,
	FC_ACTION_FOR,
	FC_ACTION_LEAVE,
	FC_ACTION_BREAK,
	FC_ACTION_ABORT,
	FC_ACTION_SET_STATE,
	FC_ACTION_UPDATE_STATE,
	FC_ACTION_START_FLOW,
	FC_ACTION_DELAY,
	FC_ACTION_WAIT_FOR_TRIGGER,
	FC_ACTION_SEND_ALERT
} FcActionKind;

/* A registered action type. */
typedef struct FcActionType
{
	char	   *name;
	FcActionKind kind;
	bool		has_children;
	char	   *run_signature;	/* user actions: as stored, may be dangling */
	char	   *return_signature;
} FcActionType;

typedef struct FcAction
{
	int64		id;
	int			index;			/* in FcFlow.actions */
	int			parent;			/* index, or -1 for a root */
	int			first_child;	/* index, or -1 */
	int			next_sibling;	/* index, or -1 */
	const FcActionType *type;
	char	   *description;
	Jsonb	   *config;
	void	   *prepared;		/* the built-in's decoded config (actions.c) */
	int			timeout_ms;		/* flow_action.timeout; 0: none */
	FcRetryPolicy *retry;		/* flow_action.retry; NULL: no retries */
} FcAction;

typedef struct FcFlow
{
	int64		id;
	char	   *name;
	bool		has_active_at;
	TimestampTz active_at;
	int32		max_concurrent;
	int32		max_per_object;
	int32		max_concurrent_per_object;
	Oid			object_table;
	char	   *condition;
	Oid			owner;
	int32		version;		/* the flow's current version */
	int32		tree_version;	/* the version whose actions these are */
	bool		tree_missing;	/* an earlier version no longer kept */
	int			nactions;
	FcAction   *actions;		/* sorted by id */
	int			first_root;		/* index, or -1 when the flow has no actions */
	MemoryContext cxt;
} FcFlow;

/*
 * The flow with its action tree, from the backend's flow cache (loaded on
 * first use and after any definition change), read as the extension owner.
 * NULL if no such flow.  The result stays valid until the end of the
 * current transaction even if definitions change meanwhile (stale entries
 * are freed at transaction end).  Caller is connected to SPI.
 */
extern FcFlow *fc_catalog_get_flow(int64 flow_id);

/*
 * The same with the actions of the given version (0: the current one).
 * An earlier version that is no longer kept has no actions and
 * tree_missing set.
 */
extern FcFlow *fc_catalog_get_flow_version(int64 flow_id, int32 version);

/* Index of the action with this id in the flow, or -1. */
extern int	fc_flow_action_index(const FcFlow *flow, int64 action_id);

/* The registered action type of this name (cached), or NULL. */
extern const FcActionType *fc_catalog_get_action_type(const char *name);

/*
 * fc_now() for the owner of a flow, which is looked up (the flow cache:
 * caller is connected to SPI) only when the clock is moved.
 */
extern TimestampTz fc_now_for_flow(int64 flow_id);

/* Is the flow active now (active_at set and not in the future)? */
extern bool fc_flow_is_active(const FcFlow *flow);

/* ---- Triggers (cached per trigger name) ---- */

typedef struct FcTrigger
{
	int64		id;
	int64		flow_id;		/* 0: none (create_flow is false) */
	bool		create_flow;
	int64		reset_to_action_id; /* 0: none */
	char	   *condition;
	bool		has_active_at;
	TimestampTz active_at;
	bool		flow_has_active_at;
	TimestampTz flow_active_at;
	Oid			owner;			/* the flow's owner, or the trigger's */
} FcTrigger;

typedef struct FcTriggerList
{
	bool		registered;		/* the name is in trigger_type */
	int			ntriggers;
	FcTrigger  *triggers;		/* ordered by id */
	Oid			owner;			/* the name's owner (when registered) */
	int			ngrantees;		/* roles granted the name (trigger_grant) */
	Oid		   *grantees;
} FcTriggerList;

/*
 * The triggers of this name (active or not), from the backend's trigger
 * cache.  Valid until definitions change: callers that run user code
 * while using it copy it first.
 */
extern FcTriggerList *fc_catalog_get_triggers(const char *name);

/* Is the trigger active now (and its flow, if it has one)? */
extern bool fc_trigger_is_active(const FcTrigger *trigger);

/* ---- Filters ---- */

/*
 * The function implementing a registered filter, or InvalidOid if no
 * filter of that name is registered or its function no longer exists.
 * Reads as the extension owner; cached until the catalog generation
 * changes.
 */
extern Oid	fc_catalog_lookup_filter(const char *name);

#endif							/* FC_FLOWCACHE_H */
