/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Reading and writing flowcontrol's own tables.
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
 * trigger, action_type, trigger_type, filter) changes in any session, or
 * the extension is dropped or created.  Caches compare it with the value
 * they were built at.
 */
extern uint64 fc_catalog_generation;

/* OID of the extension's schema; errors if the extension is not installed. */
extern Oid	fc_catalog_namespace(void);

/* OID of a type in the extension's schema (flow_run, directive, ...). */
extern Oid	fc_catalog_type(const char *name);

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

#endif							/* FC_CATALOG_H */

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
 * or 'n'; NULL for none) as the extension owner.  The caller must be
 * connected to SPI.  Returns the SPI result code; rows are in SPI_tuptable.
 */
extern int	fc_catalog_exec(FcQuery *q, Datum *values, const char *nulls,
							bool read_only, long tcount);
