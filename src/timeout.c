/*-------------------------------------------------------------------------
 *
 * timeout.c
 *	  Time limits of the hook calls the engine guards: an action's
 *	  "timeout" and the flow owner's statement_timeout.
 *
 * PostgreSQL arms statement_timeout once per statement a client sends
 * (postgres.c): never in a background worker, and never for the calls
 * inside one statement.  So flowcontrol arms a timer of its own, a
 * USER_TIMEOUT registered once per process, around each call that
 * fc_engine_guarded() makes for a flow's owner (an action's run or return
 * hook, the object read, the flow condition).  Its limit is the smaller of
 * the action's "timeout" and the statement_timeout a new session of the
 * owner would have (ALTER ROLE / ALTER DATABASE ... SET, else the
 * session's default, which in the worker is postgresql.conf's).  In a
 * session the caller's own statement_timeout keeps bounding the whole
 * statement as well.
 *
 * When the timer fires, its handler notes that (limit_fired) and raises a
 * query cancel as statement_timeout's does; the next CHECK_FOR_INTERRUPTS
 * throws "canceling statement due to user request" (57014).  The guarded
 * call whose own deadline it was takes the cancel back and fails like any
 * action error ("timed out after 2 s"): its subtransaction rolls back and
 * the run ends errored, or waits for a retry.  A cancel that flowcontrol
 * did not raise -- pg_cancel_backend(), the caller's statement_timeout --
 * and shutdown are never taken: they abort the transaction, as before.
 * (A user's cancel that arrives in the same instant as the timer, before
 * the call has ended, is taken as the timeout, as PostgreSQL reports a
 * cancel that races with statement_timeout as the timeout.)
 *
 * Calls nest: an action that starts a sub-flow at once runs the sub-flow's
 * hooks inside its own.  One timer is armed, for the earliest deadline of
 * the calls in progress (armed_deadline); each call saves the deadline it
 * found and restores it in fc_time_limit_end(), which fc_engine_guarded()
 * calls on every path, before the subtransaction is released or rolled
 * back.  A deadline that fires belongs to the innermost call whose own
 * deadline it is; the calls inside that one pass the cancel on (it is of
 * class 57, which they re-throw).  At the end of a top-level transaction
 * nothing can still be armed; a transaction callback makes sure.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "action_policy.h"
#include "owner.h"
#include "timeout.h"

/* the timer, registered on first use; MAX_TIMEOUTS until then */
static TimeoutId limit_timeout_id = MAX_TIMEOUTS;

/* the deadline armed now (the earliest of the calls in progress); 0: none */
static TimestampTz armed_deadline = 0;

/* set by the handler: armed_deadline has passed */
static volatile sig_atomic_t limit_fired = false;

static bool xact_callback_registered = false;

/* Runs in the SIGALRM handler: only flags and the latch. */
static void
limit_timeout_handler(void)
{
	limit_fired = true;
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

static void
arm(TimestampTz deadline)
{
	if (deadline == armed_deadline)
		return;
	if (deadline == 0)
		disable_timeout(limit_timeout_id, false);
	else
		enable_timeout_at(limit_timeout_id, deadline);
	armed_deadline = deadline;
}

/* Nothing outlives a transaction; only a bug could leave a timer behind. */
static void
limit_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			Assert(armed_deadline == 0);
			if (armed_deadline != 0)
				arm(0);
			limit_fired = false;
			break;
		default:
			break;
	}
}

void
fc_time_limit_begin(FcTimeLimit *tl, int timeout_ms, Oid owner)
{
	int			statement_ms = OidIsValid(owner) ? fc_owner_statement_timeout(owner) : 0;

	memset(tl, 0, sizeof(FcTimeLimit));
	tl->owner = owner;
	tl->limit_ms = timeout_ms;
	if (statement_ms > 0 && (timeout_ms <= 0 || statement_ms < timeout_ms))
	{
		tl->limit_ms = statement_ms;
		tl->is_statement_timeout = true;
	}
	tl->outer = armed_deadline;
	tl->armed = armed_deadline;
	tl->active = true;
	if (tl->limit_ms <= 0)
		return;

	if (limit_timeout_id == MAX_TIMEOUTS)
		limit_timeout_id = RegisterTimeout(USER_TIMEOUT, limit_timeout_handler);
	if (!xact_callback_registered)
	{
		RegisterXactCallback(limit_xact_callback, NULL);
		xact_callback_registered = true;
	}
	tl->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), tl->limit_ms);
	if (tl->outer == 0 || tl->deadline < tl->outer)
		tl->armed = tl->deadline;
	/* an enclosing deadline that fired already stays fired */
	if (!limit_fired)
		arm(tl->armed);
}

void
fc_time_limit_check(FcTimeLimit *tl)
{
	/* the call may have caught the cancel itself (a PL/pgSQL handler) */
	if (limit_fired)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling statement due to user request")));
}

bool
fc_time_limit_end(FcTimeLimit *tl)
{
	bool		own;

	if (!tl->active)
		return false;
	tl->active = false;
	own = limit_fired && tl->deadline != 0 && tl->armed == tl->deadline;
	if (own)
	{
		/* ours: take back the cancel we raised, if it is still pending */
		limit_fired = false;
		QueryCancelPending = false;
		armed_deadline = 0;		/* the timer fired: nothing is armed */
	}
	if (!limit_fired)
		arm(tl->outer);			/* fires at once if it has passed meanwhile */
	else
		armed_deadline = tl->outer; /* an enclosing call's: it takes it */
	return own;
}

bool
fc_time_limit_error_is_timeout(const ErrorData *edata)
{
	if (edata->sqlerrcode != ERRCODE_QUERY_CANCELED)
		return false;
	/* the caller's statement_timeout fired as well: it ends the statement */
	return edata->message_id == NULL ||
		strcmp(edata->message_id, "canceling statement due to statement timeout") != 0;
}

ErrorData *
fc_time_limit_error(const FcTimeLimit *tl)
{
	ErrorData  *e = palloc0(sizeof(ErrorData));

	e->elevel = ERROR;
	e->sqlerrcode = ERRCODE_QUERY_CANCELED;
	e->message = psprintf("timed out after %s", fc_policy_format_ms(tl->limit_ms));
	if (tl->is_statement_timeout)
	{
		const char *role = GetUserNameFromId(tl->owner, true);

		e->detail = psprintf("The limit is statement_timeout as a new session of role \"%s\" has it.",
							 role ? role : "?");
	}
	else
		e->detail = pstrdup("The limit is the action's \"timeout\".");
	return e;
}
