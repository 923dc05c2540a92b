/*-------------------------------------------------------------------------
 *
 * clock.c
 *	  The engine's clock, and the interval settings it parses
 *	  (flowcontrol.time_offset, flowcontrol.retention).
 *
 * Every time the engine reads -- due checks, flow and trigger activity,
 * Delay bases, the times it writes into runs -- comes from fc_now(owner),
 * the transaction timestamp plus flowcontrol.time_offset.  The offset is a
 * per-session test clock ("three days later"); it is parsed once, when
 * set, so fc_now() costs one pointer test while it is zero.  It applies
 * only to the flows of owners the session user is a member of (all flows
 * for a superuser): runs the session may execute anyway.  Work a session
 * does on other owners' flows -- a shared trigger name it fires, a table
 * trigger its write fires -- and everything inside it, however nested,
 * runs on real time.  The background worker ignores the offset whatever
 * its source (see fc_ignore_time_offset()).
 *
 * This file owns the parsed settings.  It must not call the engine or the
 * worker; it reads flowcontrol's tables only to find a flow's owner
 * (fc_now_for_flow, through catalog.c, and only while the clock is moved).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "clock.h"
#include "compat.h"

/* flowcontrol.time_offset as text, and parsed (NULL while zero or ignored) */
char	   *fc_time_offset = NULL;
static Interval *time_offset = NULL;
static bool time_offset_ignored = false;

/*
 * Parse an interval as interval_in does, but reporting failure instead of
 * raising an error (check hooks must not).
 */
static bool
parse_interval(const char *str, Interval *result)
{
	char		workbuf[256];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype = DTK_DELTA;
	int			dterr;
	struct pg_itm_in itm_in;
	char		copy[256];

	if (strlen(str) >= sizeof(workbuf))
		return false;
	dterr = ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype,
						  MAXDATEFIELDS, &nf);
	if (dterr == 0)
		dterr = DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE,
							   &dtype, &itm_in);
	if (dterr == DTERR_BAD_FORMAT)
	{
		/* DecodeISO8601Interval takes a writable string */
		strlcpy(copy, str, sizeof(copy));
		dterr = DecodeISO8601Interval(copy, &dtype, &itm_in);
	}
	if (dterr != 0 || dtype != DTK_DELTA)
		return false;
	return itmin2interval(&itm_in, result) == 0;
}

/*
 * Check hook work shared by the interval settings: parse *newval into a
 * GUC-allocated Interval for the assign hook (*extra); name and example for
 * the message; negative values refused unless allowed.
 */
static bool
check_interval_setting(char **newval, void **extra, const char *name,
					   const char *example, bool allow_negative)
{
	Interval	parsed;
	Interval   *copy;

	if (*newval == NULL || !parse_interval(*newval, &parsed))
	{
		GUC_check_errdetail("\"%s\" must be an interval, such as %s.", name, example);
		return false;
	}
	if (!allow_negative && (parsed.month < 0 || parsed.day < 0 || parsed.time < 0))
	{
		GUC_check_errdetail("\"%s\" must not be negative.", name);
		return false;
	}
	copy = (Interval *) fc_guc_malloc(sizeof(Interval));
	if (copy == NULL)
		return false;
	*copy = parsed;
	*extra = copy;
	return true;
}

/* The assign hooks' value: the parsed interval, or NULL when it is zero. */
static Interval *
nonzero_interval(void *extra)
{
	Interval   *parsed = (Interval *) extra;

	if (parsed == NULL ||
		(parsed->month == 0 && parsed->day == 0 && parsed->time == 0))
		return NULL;
	return parsed;
}

static bool
check_time_offset(char **newval, void **extra, GucSource source)
{
	return check_interval_setting(newval, extra, "flowcontrol.time_offset",
								  "'3 days' or '-1 hour'", true);
}

static void
assign_time_offset(const char *newval, void *extra)
{
	time_offset = nonzero_interval(extra);
}

/* flowcontrol.retention as text, and parsed (NULL: keep runs forever) */
char	   *fc_retention = NULL;
static Interval *retention = NULL;

static bool
check_retention(char **newval, void **extra, GucSource source)
{
	return check_interval_setting(newval, extra, "flowcontrol.retention",
								  "'30 days'", false);
}

static void
assign_retention(const char *newval, void *extra)
{
	retention = nonzero_interval(extra);
}

bool
fc_retention_cutoff(TimestampTz *cutoff)
{
	if (retention == NULL)
		return false;
	*cutoff = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
													  TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
													  IntervalPGetDatum(retention)));
	return true;
}

void
fc_clock_define_settings(void)
{
	DefineCustomStringVariable("flowcontrol.retention",
							   gettext_noop("How long the background workers keep runs after they are done; 0 keeps them forever."),
							   gettext_noop("When idle, the workers delete done runs whose done_at is older than this, in small batches."),
							   &fc_retention,
							   "0",
							   PGC_SIGHUP,
							   0,
							   check_retention, assign_retention, NULL);
	DefineCustomStringVariable("flowcontrol.time_offset",
							   gettext_noop("Moves this session's flowcontrol clock: the engine's now is the transaction timestamp plus this interval."),
							   gettext_noop("A test clock: due checks, Delays, activity and the times written into runs use it. The background worker ignores it."),
							   &fc_time_offset,
							   "0",
							   PGC_USERSET,
							   0,
							   check_time_offset, assign_time_offset, NULL);
}

bool
fc_clock_shifted(void)
{
	return time_offset != NULL && !time_offset_ignored;
}

TimestampTz
fc_now_moved(void)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	if (likely(time_offset == NULL) || time_offset_ignored)
		return now;
	/* as now() + interval: days and months in the session's time zone */
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
												   TimestampTzGetDatum(now),
												   IntervalPGetDatum(time_offset)));
}

TimestampTz
fc_now(Oid owner)
{
	Oid			session_user;

	if (likely(time_offset == NULL) || time_offset_ignored)
		return GetCurrentTransactionStartTimestamp();

	/*
	 * The session user, not the current one: inside a flow's actions (run as
	 * its owner) or a SECURITY DEFINER function the current user is someone
	 * else, and the session's setting must not reach further through them
	 * than the session itself could.
	 */
	session_user = GetSessionUserId();
	if (!superuser_arg(session_user) && !is_member_of_role(session_user, owner))
		return GetCurrentTransactionStartTimestamp();
	return fc_now_moved();
}

TimestampTz
fc_now_for_flow(int64 flow_id)
{
	FcFlow	   *flow;

	if (!fc_clock_shifted())
		return GetCurrentTransactionStartTimestamp();
	flow = fc_catalog_get_flow(flow_id);
	return fc_now(flow != NULL ? flow->owner : InvalidOid);
}

void
fc_ignore_time_offset(void)
{
	time_offset_ignored = true;
}
