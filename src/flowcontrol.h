/*-------------------------------------------------------------------------
 *
 * flowcontrol.h
 *	  Module-wide settings and the engine's clock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_FLOWCONTROL_H
#define FC_FLOWCONTROL_H

#include "datatype/timestamp.h"

/* flowcontrol.time_offset, as set (parsed by its check hook) */
extern PGDLLIMPORT char *fc_time_offset;

/*
 * The engine's "now": the transaction start timestamp plus the session's
 * flowcontrol.time_offset (computed as now() + interval, so days and
 * months follow the session's time zone).  Just the transaction timestamp
 * while the offset is zero and in the background worker.  Can raise
 * "timestamp out of range" for an absurd offset.
 */
extern TimestampTz fc_now(void);

/*
 * Make fc_now() ignore flowcontrol.time_offset for the rest of this
 * process's life, whatever sets it (ALTER SYSTEM, ALTER ROLE or DATABASE,
 * SET by an action's code).  Called by the background worker at start.
 */
extern void fc_ignore_time_offset(void);

#endif							/* FC_FLOWCONTROL_H */
