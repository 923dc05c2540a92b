/*-------------------------------------------------------------------------
 *
 * clock.h
 *	  The engine's clock, and flowcontrol.time_offset and
 *	  flowcontrol.retention (clock.c).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_CLOCK_H
#define FC_CLOCK_H

#include "datatype/timestamp.h"

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

/*
 * fc_now() for the owner of a flow, which is looked up (fc_catalog_get_flow:
 * caller is connected to SPI) only when the clock is moved.
 */
extern TimestampTz fc_now_for_flow(int64 flow_id);

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

/* Define flowcontrol.time_offset and flowcontrol.retention (from _PG_init). */
extern void fc_clock_define_settings(void);

#endif							/* FC_CLOCK_H */
