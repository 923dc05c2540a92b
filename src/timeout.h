/*-------------------------------------------------------------------------
 *
 * timeout.h
 *	  Time limits of the hook calls the engine guards.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_TIMEOUT_H
#define FC_TIMEOUT_H

#include "datatype/timestamp.h"
#include "utils/elog.h"

/* One guarded call's limit; see timeout.c. */
typedef struct FcTimeLimit
{
	bool		active;			/* between fc_time_limit_begin and _end */
	int			limit_ms;		/* this call's own limit; 0: none */
	bool		is_statement_timeout;	/* the limit is the owner's
										 * statement_timeout */
	Oid			owner;
	TimestampTz deadline;		/* this call's own deadline; 0: none */
	TimestampTz outer;			/* the deadline armed before the call */
	TimestampTz armed;			/* the earlier of the two, armed meanwhile */
} FcTimeLimit;

/*
 * Arm the limit of a call run for owner (InvalidOid: no owner, only the
 * enclosing calls' limits): the smaller of timeout_ms (the action's
 * "timeout", 0 for none) and the statement_timeout a new session of the
 * owner would have.  fc_time_limit_end() must follow on every path.
 */
extern void fc_time_limit_begin(FcTimeLimit *tl, int timeout_ms, Oid owner);

/*
 * At the end of a call that succeeded, still inside its subtransaction:
 * raise the cancel if a limit ran out during the call, so that the call
 * fails (or, an enclosing call's limit, passes the cancel on to it).
 */
extern void fc_time_limit_check(FcTimeLimit *tl);

/*
 * Restore the enclosing call's deadline.  Returns true if this call's own
 * limit ran out, having taken back the query cancel it raised: the call
 * failed by its time limit, not by a cancel of anyone's.  Never errors.
 */
extern bool fc_time_limit_end(FcTimeLimit *tl);

/*
 * Does the error that ended a call whose own limit ran out stand for that
 * limit?  A query cancel does, unless it is the caller's statement_timeout;
 * shutdown never does.
 */
extern bool fc_time_limit_error_is_timeout(const ErrorData *edata);

/* The error a call that ran out of time ends with (SQLSTATE 57014). */
extern ErrorData *fc_time_limit_error(const FcTimeLimit *tl);

#endif							/* FC_TIMEOUT_H */
