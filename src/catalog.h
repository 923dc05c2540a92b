/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  The extension's schema, owner, tables, types and enums; the switch to
 *	  its owner; prepared queries against its tables (catalog.c).
 *
 * The other catalog rooms build on this one: runs.h (the run row),
 * versions.h (flow versions), flowcache.h (cached definitions); objects.h
 * (object tables, read as the current user) does without it.
 * src/README.md draws who may call whom.
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
	FC_REL_RUN_DONE_OBJECT_IDX,	/* flow_run_done_object_idx */
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

/*
 * A column of the row a C trigger on one of flowcontrol's tables is saving
 * (by name; *isnull set).  For the triggers of definition.c and
 * trigger_acl.c.
 */
struct TriggerData;
extern Datum fc_catalog_trigger_column(struct TriggerData *td, HeapTuple tuple,
									   const char *name, bool *isnull);

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

#endif							/* FC_CATALOG_H */
