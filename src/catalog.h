/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Reading and writing flowcontrol's own tables.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_CATALOG_H
#define FC_CATALOG_H

#include "access/htup.h"
#include "executor/spi.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

/* Register the relcache callback that tracks definition changes. */
extern void fc_catalog_init(void);

/*
 * Bumped whenever a flowcontrol definition table (flow, flow_action,
 * trigger, action_type, trigger_type, filter, trigger_grant) changes in
 * any session, or the extension is dropped or created.  Caches compare it with the value
 * they were built at.
 */
extern uint64 fc_catalog_generation;

/* OID of the extension's schema; errors if the extension is not installed. */
extern Oid	fc_catalog_namespace(void);

typedef enum FcRelation
{
	FC_REL_FLOW,
	FC_REL_FLOW_ACTION,
	FC_REL_TRIGGER,
	FC_REL_FLOW_RUN,
	FC_REL_RUN_OBJECT_IDX,		/* flow_run_object_idx */
	FC_REL_RUN_NOT_DONE_IDX		/* flow_run_not_done_idx */
} FcRelation;

/* OID of one of the extension's tables or of an index read directly (cached). */
extern Oid	fc_catalog_relid(FcRelation which);

/* OID of a type in the extension's schema (flow_run, directive, ...). */
extern Oid	fc_catalog_type(const char *name);

/*
 * Raise INSUFFICIENT_PRIVILEGE unless the current user may execute fn.
 * Functions called through fmgr skip the executor's permission check, so
 * every call of a user's function (actions, filters) makes this one.
 */
extern void fc_catalog_check_execute(Oid fn);

/* Role that owns the extension (and so its tables). */
extern Oid	fc_catalog_extension_owner(void);

/*
 * Switch to the extension owner for reading or writing flowcontrol's own
 * tables, and back.  Callers restore on every path (PG_FINALLY or by
 * letting transaction abort reset the user id).
 */
typedef struct FcUserSwitch
{
	Oid			saved_userid;
	int			saved_sec_context;
} FcUserSwitch;

extern void fc_catalog_become(FcUserSwitch *save, Oid userid);
extern void fc_catalog_restore(const FcUserSwitch *save);

/*
 * The function implementing a registered filter, or InvalidOid if no
 * filter of that name is registered or its function no longer exists.
 * Reads as the extension owner; cached until the catalog generation
 * changes.
 */
extern Oid	fc_catalog_lookup_filter(const char *name);


/*
 * A query against flowcontrol's tables, prepared once per backend and kept
 * (SPI_keepplan).  Declare one as a static with its SQL and argument types;
 * fc_catalog_exec() prepares it on first use.
 */
#define FC_QUERY_MAX_ARGS 20

typedef struct FcQuery
{
	const char *sql;
	int			nargs;
	Oid			argtypes[FC_QUERY_MAX_ARGS];
	SPIPlanPtr	plan;
} FcQuery;

/*
 * Execute q with the given arguments (nulls as for SPI_execute_plan: ' '
 * or 'n'; NULL for none) as the extension owner, with a fresh snapshot
 * (so it sees what earlier commands of this transaction did, and at READ
 * COMMITTED what other transactions committed).  The caller must be
 * connected to SPI.  Returns the SPI result code; rows are in SPI_tuptable.
 */
extern int	fc_catalog_exec(FcQuery *q, Datum *values, const char *nulls, long tcount);

/* ---- Enums, in the order of their SQL labels ---- */

typedef enum FcDirective
{
	FC_DIR_CONTINUE,
	FC_DIR_ENTER,
	FC_DIR_LEAVE,
	FC_DIR_BREAK,
	FC_DIR_ABORT,
	FC_DIR_SUSPEND,
	FC_DIR_SUSPEND_AND_REPEAT
} FcDirective;

typedef enum FcRunStatus
{
	FC_STATUS_PENDING,
	FC_STATUS_RUNNING,
	FC_STATUS_WAITING,
	FC_STATUS_PAUSED,
	FC_STATUS_DONE
} FcRunStatus;

typedef enum FcRunOutcome
{
	FC_OUTCOME_NONE = -1,		/* NULL: not done */
	FC_OUTCOME_COMPLETE,
	FC_OUTCOME_ABORTED,
	FC_OUTCOME_ERRORED,
	FC_OUTCOME_OBSOLETE,
	FC_OUTCOME_CANCELED
} FcRunOutcome;

typedef enum FcEnumKind
{
	FC_ENUM_DIRECTIVE,
	FC_ENUM_STATUS,
	FC_ENUM_OUTCOME
} FcEnumKind;

extern const char *const fc_directive_names[];
extern const char *const fc_status_names[];
extern const char *const fc_outcome_names[];

/* Enum value <-> pg_enum OID of the extension's enum types. */
extern Oid	fc_catalog_enum_oid(FcEnumKind kind, int value);
extern int	fc_catalog_enum_value(FcEnumKind kind, Oid enumoid);

/* Directive by name (-1 if none); used for configs like action_if_past. */
extern int	fc_directive_from_name(const char *name);

/* A new empty jsonb object. */
extern Jsonb *fc_empty_object(void);

/* ---- Runs ---- */

/* A flow_run row.  Reference ids use 0 for NULL (identities start at 1). */
typedef struct FcRun
{
	int64		id;
	int64		flow_id;
	int64		parent_run_id;
	int64		trigger_id;
	int64		waiting_trigger_id;
	bool		waiting_trigger_match_object;
	int64		action_id;
	bool		repeat_action;
	FcRunStatus status;
	FcRunOutcome outcome;
	char	   *log;
	TimestampTz created_at;
	bool		has_continue_after;
	TimestampTz continue_after;
	bool		has_done_at;
	TimestampTz done_at;
	Oid			object_table;	/* InvalidOid: no object */
	char	   *object_id;
	Jsonb	   *state;
	int32		attempt;		/* failures of the current action so far */
	int32		flow_version;	/* 0: NULL, not pinned yet */
} FcRun;

/* Column numbers of flowcontrol.flow_run (its CREATE TABLE order). */
#define Anum_fc_run_id							1
#define Anum_fc_run_flow_id						2
#define Anum_fc_run_parent_run_id				3
#define Anum_fc_run_trigger_id					4
#define Anum_fc_run_waiting_trigger_id			5
#define Anum_fc_run_waiting_trigger_match_object 6
#define Anum_fc_run_action_id					7
#define Anum_fc_run_repeat_action				8
#define Anum_fc_run_status						9
#define Anum_fc_run_outcome						10
#define Anum_fc_run_log							11
#define Anum_fc_run_created_at					12
#define Anum_fc_run_continue_after				13
#define Anum_fc_run_done_at						14
#define Anum_fc_run_object_table				15
#define Anum_fc_run_object_id					16
#define Anum_fc_run_state						17
#define Anum_fc_run_attempt						18
#define Anum_fc_run_flow_version				19
#define Natts_fc_run							19

/* Conversions; results in CurrentMemoryContext. */
extern void fc_run_to_values(const FcRun *run, Datum *values, bool *nulls);
extern FcRun *fc_run_from_tuple(HeapTuple tuple, TupleDesc tupdesc);
extern Datum fc_run_to_datum(const FcRun *run);
extern FcRun *fc_run_from_datum(Datum composite);
extern FcRun *fc_run_copy(const FcRun *run);

/*
 * Read a run, locking it (FOR NO KEY UPDATE).  With skip_locked, returns
 * NULL if another transaction holds the lock; otherwise waits.  Returns
 * NULL if the run does not exist.  Caller is connected to SPI.
 */
extern FcRun *fc_catalog_lock_run(int64 run_id, bool skip_locked);

/* Read a run without locking it (NULL if it does not exist). */
extern FcRun *fc_catalog_read_run(int64 run_id);

/*
 * Lock run_id's row FOR NO KEY UPDATE without waiting, starting from the
 * version at *tid (which the caller read with its snapshot) and following
 * its updates to the newest, as SELECT ... FOR NO KEY UPDATE SKIP LOCKED
 * does; direct heap access, for continue_flowruns()'s per-run claim.
 * Returns the locked version, palloc'd in the current memory context, or
 * NULL when another transaction holds or is changing the row, or it is
 * gone.  The caller rechecks whatever it chose the row for.  The lock
 * belongs to the current (sub)transaction.
 */
extern FcRun *fc_catalog_try_lock_run(int64 run_id, ItemPointer tid);

/*
 * Can a run's row be written without firing triggers of anyone's but
 * flowcontrol's (its foreign keys')?  Then writing it cannot fail but for
 * lack of resources.
 */
extern bool fc_catalog_run_writes_plain(void);

/* Write the mutable columns of a run back. */
extern void fc_catalog_write_run(const FcRun *run);

/*
 * How many runs a flow has (for one object when object_id is given; only
 * runs not done when not_done), counting up to limit.
 */
extern int64 fc_catalog_count_runs(int64 flow_id, Oid object_table, const char *object_id,
								   bool not_done, int64 limit);

/*
 * Insert a new pending run on the flow's current version (claimed with
 * fc_catalog_claim_version(); version_hint is the version the caller
 * believes current); returns it as stored.  Without user triggers
 * on flow_run the row is inserted directly (heap and indexes), with the
 * rows it references locked as its foreign keys would; the new row is
 * visible to the next command (fc_catalog_exec makes one).
 */
extern FcRun *fc_catalog_insert_run(int64 flow_id, Oid object_table, const char *object_id,
									Jsonb *state, int64 parent_run_id, int64 trigger_id,
									int32 version_hint);

/* ---- Flow versions ----
 *
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

/* ---- Flows and their action trees (cached) ---- */

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

/* An action's retry policy (flow_action.retry; action_policy.c) */
typedef struct FcRetryPolicy
{
	int			max_attempts;	/* calls in all, the first included */
	double		initial_interval;	/* seconds before the first retry */
	double		backoff_coefficient;	/* each wait is this times the one
										 * before */
	double		max_interval;	/* longest wait, seconds */
} FcRetryPolicy;

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

/* Is the flow active now (active_at set and not in the future)? */
extern bool fc_flow_is_active(const FcFlow *flow);

/*
 * The object row as jsonb (to_jsonb of the row), fetched as the current
 * user; NULL if the row does not exist.  Caller is connected to SPI.
 */
extern Jsonb *fc_catalog_fetch_object(Oid table, const char *object_id);

/*
 * Lock the object row FOR NO KEY UPDATE, as the current user; false if
 * there is no such row visible to the user, or the user could not lock it
 * (needs SELECT and UPDATE on the table).  Caller is connected to SPI.
 */
extern bool fc_catalog_lock_object(Oid table, const char *object_id);

/* The object's key column: raises an error unless the table has a single-column primary key. */
extern AttrNumber fc_catalog_object_key(Oid table, Oid *keytype);


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

#endif							/* FC_CATALOG_H */
