/*-------------------------------------------------------------------------
 *
 * action_policy.h
 *	  An action's time limit ("timeout") and retry policy ("retry").
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_ACTION_POLICY_H
#define FC_ACTION_POLICY_H

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

/* An action's retry policy (flow_action.retry) */
typedef struct FcRetryPolicy
{
	int			max_attempts;	/* calls in all, the first included */
	double		initial_interval;	/* seconds before the first retry */
	double		backoff_coefficient;	/* each wait is this times the one
										 * before */
	double		max_interval;	/* longest wait, seconds */
} FcRetryPolicy;


/* longest "timeout" of an action: 24 days (the timer counts int milliseconds) */
#define FC_MAX_TIMEOUT_SECONDS (24 * SECS_PER_DAY)

/* longest wait between attempts: about 68 years */
#define FC_MAX_RETRY_SECONDS ((double) PG_INT32_MAX)

/*
 * Check an action's timeout (flow_action.timeout) and return it in
 * milliseconds (at least 1).  Raises INVALID_PARAMETER_VALUE, naming the
 * action and "where" it is, unless it is positive and at most
 * FC_MAX_TIMEOUT_SECONDS.
 */
extern int	fc_policy_timeout_ms(const Interval *timeout, const char *action,
								 const char *where);

/*
 * Check an action's retry policy (flow_action.retry: a JSON object with the
 * optional numbers max_attempts, initial_interval, backoff_coefficient,
 * max_interval) and return it with the defaults filled in, palloc'd in the
 * current memory context; NULL for a JSON null.  Errors name the key, the
 * action and "where" it is.
 */
extern FcRetryPolicy *fc_policy_retry(Jsonb *retry, const char *action, const char *where);

/*
 * How long a run waits before the next attempt after "failures" failures
 * in a row (>= 1): initial_interval * backoff_coefficient ^ (failures - 1),
 * at most max_interval; in microseconds.
 */
extern int64 fc_policy_retry_delay(const FcRetryPolicy *policy, int failures);

/* A duration for messages: "2 s", "0.5 s", "1.25 s" (milliseconds kept). */
extern char *fc_policy_format_ms(int64 ms);

#endif							/* FC_ACTION_POLICY_H */
