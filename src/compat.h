/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between the PostgreSQL majors flowcontrol supports.
 *
 * flowcontrol builds from one tree against PostgreSQL 15 and later.  The
 * sources call the NEWEST form of each API that changed; this header maps
 * that form to the older API on older servers, so that every
 * PG_VERSION_NUM test lives here and nowhere else.  When support for a
 * major is dropped, its branch below goes and the sources stay as they are.
 *
 * A macro here may carry the name of the PostgreSQL function it replaces
 * (a function-like macro does not expand inside its own expansion, so the
 * old function is still called).  For that to be safe the header that
 * declares the function is included first, below: its prototype must be
 * read before the macro exists.  Where the newest API is a struct member
 * rather than a function, an FC_ macro names it.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_COMPAT_H
#define FC_COMPAT_H

#include "postgres.h"

#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#if PG_VERSION_NUM < 150000
#error "flowcontrol requires PostgreSQL 15 or later"
#endif

/*
 * PostgreSQL 16 replaced pg_proc_aclcheck() and its siblings by
 * object_aclcheck(classid, ...).  Only the classes flowcontrol checks are
 * mapped.
 */
#if PG_VERSION_NUM < 160000
static inline AclResult
object_aclcheck(Oid classid, Oid objectid, Oid roleid, AclMode mode)
{
	switch (classid)
	{
		case ProcedureRelationId:
			return pg_proc_aclcheck(objectid, roleid, mode);
		case NamespaceRelationId:
			return pg_namespace_aclcheck(objectid, roleid, mode);
		case TypeRelationId:
			return pg_type_aclcheck(objectid, roleid, mode);
		default:
			elog(ERROR, "object_aclcheck: unsupported class %u", classid);
	}
	return ACLCHECK_NO_PRIV;	/* keep the compiler quiet */
}

/* ... and pg_database_ownercheck() and its siblings by object_ownercheck() */
static inline bool
object_ownercheck(Oid classid, Oid objectid, Oid roleid)
{
	switch (classid)
	{
		case DatabaseRelationId:
			return pg_database_ownercheck(objectid, roleid);
		default:
			elog(ERROR, "object_ownercheck: unsupported class %u", classid);
	}
	return false;				/* keep the compiler quiet */
}
#endif

/*
 * PostgreSQL 16 added DecodeDateTime()'s last argument, where it reports
 * the zone name or abbreviation it could not read.  Older servers get a
 * stand-in for the struct, never written to.
 */
#if PG_VERSION_NUM < 160000
typedef struct DateTimeErrorExtra
{
	const char *dtee_timezone;
	const char *dtee_abbrev;
} DateTimeErrorExtra;

#define DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tzp, extra) \
	((void) (extra), DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tzp))
#endif

/*
 * PostgreSQL 16 added soft errors: a function given an ErrorSaveContext
 * reports some errors there instead of throwing them.  On 15 a stand-in
 * of the struct serves the wrappers below.
 */
#if PG_VERSION_NUM < 160000
typedef struct ErrorSaveContext
{
	NodeTag		type;
	bool		error_occurred;
	bool		details_wanted;
	ErrorData  *error_data;
} ErrorSaveContext;

#define T_ErrorSaveContext T_Invalid
#endif

/*
 * PostgreSQL 17 moved the backend's local transaction id into
 * MyProc->vxid.lxid.
 */
#if PG_VERSION_NUM >= 170000
#define FC_MY_LXID() (MyProc->vxid.lxid)
#else
#define FC_MY_LXID() (MyProc->lxid)
#endif

/*
 * PostgreSQL 17 passes the relation, not its OID, to getIdentitySequence().
 */
#if PG_VERSION_NUM < 170000
#define getIdentitySequence(rel, attnum, missing_ok) \
	getIdentitySequence(RelationGetRelid(rel), attnum, missing_ok)
#endif

/*
 * Pinning search_path to pg_catalog for flowcontrol's own queries.  Before
 * PostgreSQL 17 an override search path does it: a list pushed and popped,
 * no setting changed.  17 removed that; there the code does what
 * maintenance commands do: a GUC nest level, RestrictSearchPath() (search
 * path "pg_catalog, pg_temp"), and AtEOXact_GUC() to pop the level -- a
 * setting change and a search path recomputation each way, dearer on the
 * worker's per-run writes.  An error pops either with the (sub)transaction.
 */
typedef int FcSearchPathPin;

static inline FcSearchPathPin
fc_pin_catalog_search_path(void)
{
#if PG_VERSION_NUM >= 170000
	FcSearchPathPin level = NewGUCNestLevel();

	RestrictSearchPath();
	return level;
#else
	OverrideSearchPath path = {NIL, true, false, 0};

	PushOverrideSearchPath(&path);
	return 0;
#endif
}

static inline void
fc_unpin_catalog_search_path(FcSearchPathPin pin)
{
#if PG_VERSION_NUM >= 170000
	AtEOXact_GUC(true, pin);
#else
	PopOverrideSearchPath();
#endif
}

/*
 * PostgreSQL 18 replaced the pg_attribute_noreturn() suffix by the
 * pg_noreturn prefix (C11 _Noreturn), written before "extern".
 */
#if PG_VERSION_NUM < 180000
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * PostgreSQL 18 dropped the ExecutorRun hook's execute_once argument.  A
 * hook is written with the newest parameters followed by
 * EXECUTOR_RUN_ONCE_PARAM, and passes them on followed by
 * EXECUTOR_RUN_ONCE_ARG; on older servers these add the argument back.
 */
#if PG_VERSION_NUM >= 180000
#define EXECUTOR_RUN_ONCE_PARAM
#define EXECUTOR_RUN_ONCE_ARG
#else
#define EXECUTOR_RUN_ONCE_PARAM , bool execute_once
#define EXECUTOR_RUN_ONCE_ARG , execute_once
#endif

/*
 * PostgreSQL 18 added RelationGetPrimaryKeyIndex()'s deferrable_ok; older
 * servers never return a deferrable primary key, as 18 does with false,
 * the only value accepted here.
 */
#if PG_VERSION_NUM < 180000
#define RelationGetPrimaryKeyIndex(rel, deferrable_ok) \
	(AssertMacro(!(deferrable_ok)), RelationGetPrimaryKeyIndex(rel))
#endif

/*
 * PostgreSQL 19 marks an intended fall-through with the pg_fallthrough
 * statement (and builds with -Wimplicit-fallthrough=5, which ignores
 * comments).
 */
#if PG_VERSION_NUM < 190000
#if defined(__GNUC__) || defined(__clang__)
#define pg_fallthrough __attribute__((fallthrough))
#else
#define pg_fallthrough ((void) 0)
#endif
#endif

/*
 * PostgreSQL 19 replaced numeric_mod_opt_error(..., bool *error) by
 * numeric_mod_safe(..., Node *escontext).
 */
#if PG_VERSION_NUM < 190000
static inline Numeric
numeric_mod_safe(Numeric num1, Numeric num2, Node *escontext)
{
	bool		error = false;
	Numeric		result;

	if (escontext == NULL)
		return numeric_mod_opt_error(num1, num2, NULL);
	result = numeric_mod_opt_error(num1, num2, &error);
	if (error)
		((ErrorSaveContext *) escontext)->error_occurred = true;
	return result;
}
#endif

/*
 * PostgreSQL 19 gave ExecInsertIndexTuples() a flags word (EIIT_*) in place
 * of its booleans, and reordered the arguments; 16 had added
 * onlySummarizing (false: flowcontrol never does HOT updates here).
 */
#if PG_VERSION_NUM < 190000
#define EIIT_IS_UPDATE			(1<<0)
#define EIIT_NO_DUPE_ERROR		(1<<1)
#define EIIT_ONLY_SUMMARIZING	(1<<2)
#if PG_VERSION_NUM >= 160000
#define ExecInsertIndexTuples(rri, estate, flags, slot, arbiterIndexes, specConflict) \
	ExecInsertIndexTuples(rri, slot, estate, \
						  ((flags) & EIIT_IS_UPDATE) != 0, \
						  ((flags) & EIIT_NO_DUPE_ERROR) != 0, \
						  specConflict, arbiterIndexes, \
						  ((flags) & EIIT_ONLY_SUMMARIZING) != 0)
#else
#define ExecInsertIndexTuples(rri, estate, flags, slot, arbiterIndexes, specConflict) \
	ExecInsertIndexTuples(rri, slot, estate, \
						  ((flags) & EIIT_IS_UPDATE) != 0, \
						  ((flags) & EIIT_NO_DUPE_ERROR) != 0, \
						  specConflict, arbiterIndexes)
#endif
#endif

/*
 * PostgreSQL 19 builds jsonb values in a JsonbInState: pushJsonbValue()
 * takes it and returns nothing, and the finished value is in its result
 * field.  On older servers a JsonbInState holds the parse-state stack and
 * the result of the call that closed the outermost container.  Declare it
 * as "JsonbInState st = {0};".
 */
#if PG_VERSION_NUM < 190000
typedef struct JsonbInState
{
	JsonbValue *result;
	JsonbParseState *parseState;
} JsonbInState;

static inline void
fc_compat_push_jsonb_value(JsonbInState *st, JsonbIteratorToken seq,
						   JsonbValue *jbval)
{
	JsonbValue *res = pushJsonbValue(&st->parseState, seq, jbval);

	if (st->parseState == NULL)
		st->result = res;
}

#define pushJsonbValue(st, seq, jbval) fc_compat_push_jsonb_value(st, seq, jbval)
#endif

/*
 * A check hook's "extra": PostgreSQL 16 moved GUC memory into a memory
 * context, allocated by guc_malloc() and freed by guc_free(); before, the
 * GUC machinery free()d it.
 */
#if PG_VERSION_NUM >= 160000
#define fc_guc_malloc(size) guc_malloc(LOG, (size))
#else
#define fc_guc_malloc(size) malloc(size)
#endif

#endif							/* FC_COMPAT_H */
