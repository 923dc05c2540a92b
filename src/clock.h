/*-------------------------------------------------------------------------
 *
 * clock.h
 *	  The engine's clock and the interval settings it reads (clock.c).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_CLOCK_H
#define FC_CLOCK_H

#include "datatype/timestamp.h"

/* Define flowcontrol.time_offset and flowcontrol.retention; by _PG_init. */
extern void fc_clock_define_settings(void);

/* flowcontrol.time_offset, as set (parsed by its check hook) */
extern PGDLLIMPORT char *fc_time_offset;

/*
 * The engine's "now" for work on the runs of flows owned by owner: the
 * transaction start timestamp plus the session's flowcontrol.time_offset
 * (computed as now() + interval, so days and months follow the session's
 * time zone) when the session user is a superuser or a member of owner;
 * otherwise, while the offset is zero and in the background worker, just
 * the transaction timestamp.  Can raise "timestamp out of range" for an
 * absurd offset.
 */
extern TimestampTz fc_now(Oid owner);

/*
 * The moved clock whoever owns the runs concerned: for SQL that applies it
 * per row as fc_now() would.
 */
extern TimestampTz fc_now_moved(void);

/* Whether this session's clock is moved (an offset is set and honoured). */
extern bool fc_clock_shifted(void);

/*
 * Make fc_now() ignore flowcontrol.time_offset for the rest of this
 * process's life, whatever sets it (ALTER SYSTEM, ALTER ROLE or DATABASE,
 * SET by an action's code).  Called by the background worker at start.
 */
extern void fc_ignore_time_offset(void);

/*
 * flowcontrol.retention: false when runs are kept forever, else true with
 * *cutoff = transaction start - retention (runs done before it go).
 */
extern PGDLLIMPORT char *fc_retention;
extern bool fc_retention_cutoff(TimestampTz *cutoff);

#endif							/* FC_CLOCK_H */
