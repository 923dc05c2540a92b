/*-------------------------------------------------------------------------
 *
 * actions.h
 *	  The built-in actions and the call into user actions.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_ACTIONS_H
#define FC_ACTIONS_H

#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "engine_actions.h"

/*
 * Validate an action's config when it is saved: for a built-in action, its
 * keys, their types and the syntax of its expressions; for a user action,
 * only that it is an object.  Expressions are checked as
 * validate_expression() checks them, unknown filter names included.  Errors
 * name the key and "where" the action is (its path in a flow document, or
 * its id).
 */
extern void fc_actions_validate_config(const char *action, bool builtin, Jsonb *config,
									   const char *where);

/*
 * In a PG_CATCH block (memory context restored): re-throw the error with
 * "PREFIX: message" or "message SUFFIX" as its message.
 */
pg_noreturn extern void fc_actions_rethrow_placed(const char *prefix, const char *suffix);

/*
 * Call an action's run hook (returning = false) or return hook (true) and
 * return its directive.  Runs in the caller's subtransaction as the flow
 * owner; may change exec->run.  Errors propagate.
 */
extern FcDirective fc_action_call(FcExec *exec, FcAction *action, bool returning);

/*
 * DelayAction's calendar arithmetic: base + months (day clamped to the
 * month's end) + seconds, then forward to weekday (0 = Monday, -1 = none;
 * the same day counts), then the time of day; all in time zone tz.
 */
struct pg_tz;
extern TimestampTz fc_delay_compute(TimestampTz base, int64 months, double seconds,
									int weekday, bool has_time, int hour, int minute,
									int second, struct pg_tz *tz);

#endif							/* FC_ACTIONS_H */
