/*-------------------------------------------------------------------------
 *
 * action_policy.c
 *	  An action's time limit ("timeout") and retry policy ("retry").
 *
 * Both are columns of flowcontrol.flow_action (timeout interval, retry
 * jsonb) and keys of an action in a flow document, in seconds as numbers.
 * They are checked when they are saved: by define_flow() through
 * _action_timeout() and _action_retry(), which also turn the document's
 * form into the columns', and by the BEFORE ROW trigger on flow_action
 * (definition.c), with errors that name the key, the action and where it
 * is.  A flow's loader (flowcache.c) reads them into FcAction, and the
 * engine asks fc_policy_retry_delay() how long a failed run waits before
 * the action's next attempt.  The time limit itself is enforced by
 * timeout.c.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "action_policy.h"
#include "compat.h"

static const char *const retry_keys[] = {
	"max_attempts", "initial_interval", "backoff_coefficient", "max_interval", NULL
};

pg_noreturn static void
policy_error(const char *key, const char *action, const char *what, const char *where)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("key \"%s\" of action %s must be %s at %s", key, action, what, where)));
}

/* A JSON number as a double (+-Inf beyond its range); errors otherwise. */
static double
policy_number(const JsonbValue *v, const char *key, const char *action,
			  const char *what, const char *where)
{
	char	   *s;

	if (v->type != jbvNumeric)
		policy_error(key, action, what, where);
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	return strtod(s, NULL);
}

int
fc_policy_timeout_ms(const Interval *timeout, const char *action, const char *where)
{
	/* months and days as interval comparison counts them (30 days, 24 h) */
	double		usecs = (double) timeout->time +
		(double) timeout->day * USECS_PER_DAY +
		(double) timeout->month * DAYS_PER_MONTH * USECS_PER_DAY;

	if (!(usecs > 0))
		policy_error("timeout", action, "positive", where);
	if (usecs > (double) FC_MAX_TIMEOUT_SECONDS * USECS_PER_SEC)
		policy_error("timeout", action,
					 psprintf("at most %d seconds (24 days)", FC_MAX_TIMEOUT_SECONDS), where);
	return (int) ceil(usecs / 1000.0);
}

/* a number of seconds of a retry policy: positive, at most FC_MAX_RETRY_SECONDS */
static double
retry_seconds(const JsonbValue *v, const char *key, const char *action, const char *where)
{
	double		secs = policy_number(v, key, action, "a positive number of seconds", where);

	if (!(secs > 0))
		policy_error(key, action, "a positive number of seconds", where);
	if (secs > FC_MAX_RETRY_SECONDS)
		policy_error(key, action, psprintf("at most %.0f seconds", FC_MAX_RETRY_SECONDS), where);
	return secs;
}

static void
retry_key(FcRetryPolicy *p, const char *key, const JsonbValue *v, const char *action,
		  const char *where, bool *has_max_interval)
{
	char	   *path = psprintf("retry.%s", key);
	double		d;

	if (strcmp(key, "max_attempts") == 0)
	{
		d = policy_number(v, path, action, "an integer of at least 1", where);
		if (!(d >= 1 && d <= PG_INT32_MAX && d == floor(d)))
			policy_error(path, action, "an integer of at least 1", where);
		p->max_attempts = (int) d;
	}
	else if (strcmp(key, "initial_interval") == 0)
		p->initial_interval = retry_seconds(v, path, action, where);
	else if (strcmp(key, "max_interval") == 0)
	{
		p->max_interval = retry_seconds(v, path, action, where);
		*has_max_interval = true;
	}
	else
	{
		d = policy_number(v, path, action, "a number of at least 1", where);
		if (!(d >= 1 && !isinf(d)))
			policy_error(path, action, "a number of at least 1", where);
		p->backoff_coefficient = d;
	}
}

FcRetryPolicy *
fc_policy_retry(Jsonb *retry, const char *action, const char *where)
{
	FcRetryPolicy *p;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;
	bool		has_max_interval = false;

	if (JB_ROOT_IS_SCALAR(retry))
	{
		if (JsonbExtractScalar(&retry->root, &v) && v.type == jbvNull)
			return NULL;
	}
	if (!JB_ROOT_IS_OBJECT(retry) || JB_ROOT_IS_SCALAR(retry))
		policy_error("retry", action, "a JSON object", where);

	/* the defaults of AWS Step Functions, and Temporal's max_interval */
	p = palloc(sizeof(FcRetryPolicy));
	p->max_attempts = 3;
	p->initial_interval = 1;
	p->backoff_coefficient = 2;
	p->max_interval = 0;

	it = JsonbIteratorInit(&retry->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		int			i;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		(void) JsonbIteratorNext(&it, &v, true);
		for (i = 0; retry_keys[i] != NULL; i++)
			if (strcmp(retry_keys[i], key) == 0)
				break;
		if (retry_keys[i] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%s\" in \"retry\" of action %s at %s", key, action, where),
					 errhint("Allowed keys are max_attempts, initial_interval, backoff_coefficient, max_interval.")));
		if (v.type != jbvNull)
			retry_key(p, key, &v, action, where, &has_max_interval);
	}

	if (!has_max_interval)
		p->max_interval = Min(100 * p->initial_interval, FC_MAX_RETRY_SECONDS);
	else if (p->max_interval < p->initial_interval)
		policy_error("retry.max_interval", action,
					 "at least \"retry.initial_interval\"", where);
	return p;
}

int64
fc_policy_retry_delay(const FcRetryPolicy *policy, int failures)
{
	double		secs = policy->initial_interval *
		pow(policy->backoff_coefficient, Max(failures, 1) - 1);

	if (isnan(secs) || secs > policy->max_interval)
		secs = policy->max_interval;
	return (int64) llround(secs * USECS_PER_SEC);
}

char *
fc_policy_format_ms(int64 ms)
{
	char	   *s;
	int			len;

	if (ms % 1000 == 0)
		return psprintf("%lld s", (long long) (ms / 1000));
	s = psprintf("%lld.%03d", (long long) (ms / 1000), (int) (ms % 1000));
	len = strlen(s);
	while (s[len - 1] == '0')
		s[--len] = '\0';
	return psprintf("%s s", s);
}

/* ---------------------------------------------------------------------
 * The keys of an action in a flow document (define_flow)
 * ---------------------------------------------------------------------
 */

/* The value of key in the action document, or NULL when absent or null. */
static JsonbValue *
item_key(Jsonb *item, const char *key)
{
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(item) || JB_ROOT_IS_SCALAR(item))
		return NULL;
	v = getKeyJsonValueFromContainer(&item->root, key, strlen(key), NULL);
	return (v == NULL || v->type == jbvNull) ? NULL : v;
}

static char *
item_action(Jsonb *item)
{
	JsonbValue *v = item_key(item, "action");

	if (v == NULL || v->type != jbvString)
		return pstrdup("(unknown)");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * _action_timeout(item jsonb, location text) returns interval: the action
 * document's "timeout" (seconds) as flow_action.timeout, checked.
 */
PG_FUNCTION_INFO_V1(flowcontrol__action_timeout);
Datum
flowcontrol__action_timeout(PG_FUNCTION_ARGS)
{
	Jsonb	   *item;
	char	   *where;
	char	   *action;
	JsonbValue *v;
	double		secs;
	Interval   *timeout;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	item = PG_GETARG_JSONB_P(0);
	v = item_key(item, "timeout");
	if (v == NULL)
		PG_RETURN_NULL();
	where = text_to_cstring(PG_GETARG_TEXT_PP(1));
	action = item_action(item);
	secs = policy_number(v, "timeout", action, "a number of seconds", where);
	if (!(secs > 0))
		policy_error("timeout", action, "positive", where);
	if (secs > FC_MAX_TIMEOUT_SECONDS)
		policy_error("timeout", action,
					 psprintf("at most %d seconds (24 days)", FC_MAX_TIMEOUT_SECONDS), where);
	timeout = palloc0(sizeof(Interval));
	timeout->time = (int64) llround(secs * USECS_PER_SEC);
	(void) fc_policy_timeout_ms(timeout, action, where);
	PG_RETURN_INTERVAL_P(timeout);
}

/*
 * _action_retry(item jsonb, location text) returns jsonb: the action
 * document's "retry" as flow_action.retry, checked.
 */
PG_FUNCTION_INFO_V1(flowcontrol__action_retry);
Datum
flowcontrol__action_retry(PG_FUNCTION_ARGS)
{
	Jsonb	   *item;
	Jsonb	   *retry;
	JsonbValue *v;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	item = PG_GETARG_JSONB_P(0);
	v = item_key(item, "retry");
	if (v == NULL)
		PG_RETURN_NULL();
	retry = JsonbValueToJsonb(v);
	(void) fc_policy_retry(retry, item_action(item), text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_JSONB_P(retry);
}
