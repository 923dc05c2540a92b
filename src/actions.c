/*-------------------------------------------------------------------------
 *
 * actions.c
 *	  The built-in actions at run time, and the call into an action's hook.
 *
 * Each built-in action is a function of the execution (FcExec) and its
 * decoded config (FcPrepared, decoded once per cached flow by
 * action_config.c) that returns a directive; the engine's loop acts on the
 * directive.  Control flow (If, While, ForLoop, Leave, Break, Abort), state
 * (SetState, UpdateState), and events (StartFlow, Delay, WaitForTrigger,
 * SendAlert) are here; the call into user actions is in action_user.c.
 *
 * This file reaches the engine only through engine_actions.h (the
 * execution's state and log, starting a child run), never through
 * engine.h, and must not read or write flowcontrol's tables other than
 * through catalog.c.  It runs in the subtransaction the engine opened for
 * the hook, as the flow owner.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/async.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "actions.h"
#include "actions_int.h"
#include "catalog.h"
#include "clock.h"
#include "compat.h"
#include "engine_actions.h"
#include "expr.h"
#include "flowcache.h"
#include "runs.h"
#include "trigger_acl.h"

static FcPrepared *
prepared(FcExec *exec, FcAction *a)
{
	if (a->prepared == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(exec->flow->cxt);

		a->prepared = fc_actions_decode_config(a->type->name, a->type->kind, a->config);
		MemoryContextSwitchTo(old);
	}
	return (FcPrepared *) a->prepared;
}

/* ---------------------------------------------------------------------
 * State helpers
 * ---------------------------------------------------------------------
 */

/*
 * A new state: the old one (all keys, or with only_underscore just those
 * starting with "_"), minus remove_key, then the given pairs (last wins).
 */
static Jsonb *
state_build(Jsonb *old, bool only_underscore, const char *remove_key,
			int npairs, JsonbValue *keys, JsonbValue *values)
{
	JsonbInState ps = {0};
	JsonbValue *res;
	int			i;
	int			remove_len = remove_key ? strlen(remove_key) : 0;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	if (old != NULL && JB_ROOT_IS_OBJECT(old))
	{
		JsonbIterator *it = JsonbIteratorInit(&old->root);
		JsonbIteratorToken tok;
		JsonbValue	k;
		JsonbValue	v;

		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			(void) JsonbIteratorNext(&it, &v, true);
			if (only_underscore && (k.val.string.len == 0 || k.val.string.val[0] != '_'))
				continue;
			if (remove_key && k.val.string.len == remove_len &&
				memcmp(k.val.string.val, remove_key, remove_len) == 0)
				continue;
			pushJsonbValue(&ps, WJB_KEY, &k);
			pushJsonbValue(&ps, WJB_VALUE, &v);
		}
	}
	for (i = 0; i < npairs; i++)
	{
		pushJsonbValue(&ps, WJB_KEY, &keys[i]);
		pushJsonbValue(&ps, WJB_VALUE, &values[i]);
	}
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	res = ps.result;
	return JsonbValueToJsonb(res);
}

static void
set_state(FcExec *exec, Jsonb *state)
{
	fc_exec_set_state(exec, state);
}

static JsonbValue
string_value(const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	return v;
}

static JsonbValue
int_value(int64 n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	return v;
}

/* A jsonb value as a JsonbValue usable inside pushJsonbValue. */
static JsonbValue
jsonb_as_value(Jsonb *j)
{
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(j))
	{
		JsonbValue	scalar;

		(void) JsonbExtractScalar(&j->root, &scalar);
		return scalar;
	}
	v.type = jbvBinary;
	v.val.binary.data = &j->root;
	v.val.binary.len = VARSIZE(j) - VARHDRSZ;
	return v;
}

/* ---------------------------------------------------------------------
 * The built-ins
 * ---------------------------------------------------------------------
 */
static bool
condition(FcExec *exec, const char *cond)
{
	if (cond[0] == '\0')
		return false;
	return fc_expr_condition(cond, fc_exec_context(exec));
}

static char *
for_var(FcAction *a, FcPrepared *p)
{
	if (p->var_name != NULL && p->var_name[0] != '\0')
		return p->var_name;
	return psprintf("_for_loop_" INT64_FORMAT, a->id);
}

static FcDirective
for_loop(FcExec *exec, FcAction *a, FcPrepared *p, bool returning)
{
	char	   *var = for_var(a, p);
	int64		counter;
	JsonbValue	k = string_value(var);
	JsonbValue	v;
	bool		past_end = false;

	if (!returning)
		counter = p->start;
	else
	{
		Jsonb	   *state = exec->run->state;
		JsonbValue *cur = NULL;

		/* a state written by hand may be no object; its keys are missing */
		if (JB_ROOT_IS_OBJECT(state))
			cur = getKeyJsonValueFromContainer(&state->root, var, strlen(var), NULL);

		if (cur == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("loop variable \"%s\" is missing from the state", var)));
		if (!fc_actions_jbv_int64(cur, &counter))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("loop variable \"%s\" is not an integer", var)));

		/*
		 * step is positive, so a sum past the largest int64 is past any end:
		 * the loop ends, as it does in the seed's unbounded integers.
		 */
		if (pg_add_s64_overflow(counter, p->step, &counter))
			past_end = true;
	}

	if (!past_end && counter < p->end)
	{
		v = int_value(counter);
		set_state(exec, state_build(exec->run->state, false, NULL, 1, &k, &v));
		return FC_DIR_ENTER;
	}
	set_state(exec, state_build(exec->run->state, false, var, 0, NULL, NULL));
	return FC_DIR_CONTINUE;
}

static FcDirective
set_or_update_state(FcExec *exec, FcPrepared *p, bool replace)
{
	int			n = 0;
	JsonbValue *keys = NULL;
	JsonbValue *values = NULL;

	if (p->state != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(&p->state->root);
		JsonbIteratorToken tok;
		JsonbValue	k;
		JsonbValue	v;
		int			cap = JsonContainerSize(&p->state->root);

		keys = palloc(sizeof(JsonbValue) * Max(cap, 1));
		values = palloc(sizeof(JsonbValue) * Max(cap, 1));
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			(void) JsonbIteratorNext(&it, &v, true);
			keys[n] = k;
			if (p->evaluate && v.type == jbvString)
			{
				char	   *src = fc_actions_jbv_string(&v);

				values[n] = jsonb_as_value(fc_expr_value(src, fc_exec_context(exec)));
			}
			else
				values[n] = v;
			n++;
		}
	}
	set_state(exec, state_build(exec->run->state, replace, NULL, n, keys, values));
	return FC_DIR_CONTINUE;
}

static FcDirective
start_flow(FcExec *exec, FcPrepared *p)
{
	FcRun	   *run = exec->run;
	FcRun	   *child;
	bool		pass_object = p->pass_object && OidIsValid(run->object_table);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	child = fc_engine_create_run(p->start_flow,
								 pass_object ? run->object_table : InvalidOid,
								 pass_object ? run->object_id : NULL,
								 p->pass_state ? run->state : NULL,
								 run->id, 0, 0, FC_CREATE_CHECK_VISIBLE);
	if (child == NULL)
		ereport(NOTICE,
				(errmsg("flow run for flow %lld was not started: a limit of the flow was reached or its object table differs",
						(long long) p->start_flow)));
	else if (p->immediate)
		(void) fc_engine_execute_locked(child, FC_DEFAULT_MAX_HOT_LOOP);
	SPI_finish();
	return FC_DIR_CONTINUE;
}

/*
 * Which special words a base date holds: "now" and "allballs" fix the
 * instant (or the zone) themselves; "today", "tomorrow" and "yesterday"
 * name a day, which is the day in the Delay's time zone.  Returns the day
 * shift of the latter (-1, 0, 1) in *day_shift, and whether one was found.
 */
static bool
base_date_specials(char **field, int *ftype, int nf, bool *fixed_zone,
				   int *day_shift)
{
	bool		has_day = false;
	int			i;

	*fixed_zone = false;
	*day_shift = 0;
	for (i = 0; i < nf; i++)
	{
		int			val;

		if (ftype[i] != DTK_STRING && ftype[i] != DTK_SPECIAL)
			continue;
		if (DecodeSpecial(i, field[i], &val) != RESERV)
			continue;
		if (val == DTK_NOW || val == DTK_ZULU)
			*fixed_zone = true;
		else if (val == DTK_TODAY || val == DTK_TOMORROW || val == DTK_YESTERDAY)
		{
			has_day = true;
			*day_shift = val == DTK_TOMORROW ? 1 : val == DTK_YESTERDAY ? -1 : 0;
		}
	}
	return has_day;
}

/*
 * Parse a base date; false if it is not a date/time.  A date/time without
 * a UTC offset or zone is read as wall-clock time in time zone tz; the
 * session's time zone is never switched (nor read, except for "now",
 * whose instant does not depend on it).
 *
 * DecodeDateTime() is first asked for no zone (tzp NULL), which it refuses
 * when the string names one; such a string is decoded again with its own
 * offset.  Decoding writes into its fields, so each pass parses afresh.
 */
static bool
parse_base_date(const char *str, TimestampTz *result, pg_tz *tz)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_tm tt;
	fsec_t		fsec;
	int			offset;
	DateTimeErrorExtra extra;
	bool		fixed_zone;
	int			day_shift;
	bool		named_day;

	if (strlen(str) >= MAXDATELEN)
		return false;
	if (ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) != 0)
		return false;
	named_day = base_date_specials(field, ftype, nf, &fixed_zone, &day_shift);

	if (!fixed_zone &&
		DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, NULL, &extra) == 0)
	{
		if (dtype != DTK_DATE)
			return false;
		if (named_day)
		{
			/* today in tz, not in the session's time zone */
			struct pg_tm today;
			fsec_t		today_fsec;
			int			today_offset;

			if (timestamp2tm(GetCurrentTransactionStartTimestamp(), &today_offset,
							 &today, &today_fsec, NULL, tz) != 0)
				return false;
			j2date(date2j(today.tm_year, today.tm_mon, today.tm_mday) + day_shift,
				   &tt.tm_year, &tt.tm_mon, &tt.tm_mday);
		}
		offset = DetermineTimeZoneOffset(&tt, tz);
		return tm2timestamp(&tt, fsec, &offset, result) == 0;
	}

	/* the string gives its own zone (or is not a date at all) */
	if (ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) != 0)
		return false;
	if (DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &offset, &extra) != 0 ||
		dtype != DTK_DATE)
		return false;
	return tm2timestamp(&tt, fsec, &offset, result) == 0;
}

static void
date_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
			 errmsg("Base date must be a datetime or a parsable string")));
}

TimestampTz
fc_delay_compute(TimestampTz base, int64 months, double seconds, int weekday,
				 bool has_time, int hour, int minute, int second, pg_tz *tz)
{
	struct pg_tm tt;
	fsec_t		fsec;
	int			offset;
	Timestamp	local;
	TimestampTz result;

	/* the base as wall-clock time in tz */
	if (timestamp2tm(base, &offset, &tt, &fsec, NULL, tz) != 0)
		date_error();

	if (months != 0)
	{
		int			m = tt.tm_mon - 1 + (int) months;

		tt.tm_year += m >= 0 ? m / 12 : -((11 - m) / 12);
		tt.tm_mon = ((m % 12) + 12) % 12 + 1;
		if (tt.tm_mday > day_tab[isleap(tt.tm_year)][tt.tm_mon - 1])
			tt.tm_mday = day_tab[isleap(tt.tm_year)][tt.tm_mon - 1];
	}
	if (tm2timestamp(&tt, fsec, NULL, &local) != 0)
		date_error();
	local += (Timestamp) (seconds * USECS_PER_SEC);

	if (timestamp2tm(local, NULL, &tt, &fsec, NULL, NULL) != 0)
		date_error();
	if (weekday >= 0)
	{
		int			dow = (j2day(date2j(tt.tm_year, tt.tm_mon, tt.tm_mday)) + 6) % 7;

		local += (Timestamp) (((weekday - dow + 7) % 7)) * USECS_PER_DAY;
		if (timestamp2tm(local, NULL, &tt, &fsec, NULL, NULL) != 0)
			date_error();
	}
	if (has_time)
	{
		tt.tm_hour = hour;
		tt.tm_min = minute;
		tt.tm_sec = second;
		fsec = 0;
	}
	offset = DetermineTimeZoneOffset(&tt, tz);
	if (tm2timestamp(&tt, fsec, &offset, &result) != 0)
		date_error();
	return result;
}

static FcDirective
delay(FcExec *exec, FcPrepared *p)
{
	TimestampTz now = fc_now(exec->flow->owner);
	TimestampTz base = now;
	TimestampTz due;
	pg_tz	   *tz = p->timezone ? pg_tzset(p->timezone) : session_timezone;

	if (p->base_date_template[0] != '\0')
	{
		Jsonb	   *v = fc_expr_value(p->base_date_template, fc_exec_context(exec));
		JsonbValue	scalar;
		char	   *s;

		if (!JB_ROOT_IS_SCALAR(v) || !JsonbExtractScalar(&v->root, &scalar) ||
			scalar.type != jbvString)
			date_error();
		s = fc_actions_jbv_string(&scalar);
		if (!parse_base_date(s, &base, tz))
			date_error();
	}

	due = fc_delay_compute(base, p->months, p->seconds, p->weekday,
						   p->has_time, p->hour, p->minute, p->second, tz);
	/* as in the seed: the computed time is kept even when it is past */
	exec->run->has_continue_after = true;
	exec->run->continue_after = due;
	if (due < now)
		return p->action_if_past;
	return FC_DIR_SUSPEND;
}

static FcDirective
send_alert(FcExec *exec, FcPrepared *p)
{
	JsonbInState ps = {0};
	JsonbValue	k;
	JsonbValue	v;
	JsonbValue *res;
	char	   *payload;
	char	   *subject = p->subject;
	char	   *body = p->body;

	if (p->templated)
	{
		subject = fc_expr_render(p->subject, fc_exec_context(exec));
		body = fc_expr_render(p->body, fc_exec_context(exec));
	}

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	k = string_value("run_id");
	v = int_value(exec->run->id);
	pushJsonbValue(&ps, WJB_KEY, &k);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	k = string_value("flow_id");
	v = int_value(exec->run->flow_id);
	pushJsonbValue(&ps, WJB_KEY, &k);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	k = string_value("subject");
	v = string_value(subject);
	pushJsonbValue(&ps, WJB_KEY, &k);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	k = string_value("body");
	v = string_value(body);
	pushJsonbValue(&ps, WJB_KEY, &k);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	k = string_value("recipient");
	if (p->recipient)
		v = string_value(p->recipient);
	else
		v.type = jbvNull;
	pushJsonbValue(&ps, WJB_KEY, &k);
	pushJsonbValue(&ps, WJB_VALUE, &v);
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	res = ps.result;
	payload = JsonbToCString(NULL, &JsonbValueToJsonb(res)->root, 0);

	Async_Notify(p->channel, payload);
	return FC_DIR_CONTINUE;
}

/*
 * The trigger a run is to wait for must exist and be visible to the flow's
 * owner, who must be admitted to its name (it is only checked now: a flow
 * may be saved before the trigger; trigger_acl.c), and must be one that
 * wakes waiting runs rather than starting flows, or the wait could never end.
 */
static void
check_wait_trigger(FcExec *exec, int64 trigger_id)
{
	if (fc_trigger_check_wait(trigger_id, exec->flow->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trigger %lld starts flow runs, so no run can wait for it", (long long) trigger_id),
				 errhint("Wait for a trigger whose create_flow is false.")));
}

static FcDirective
call_builtin(FcExec *exec, FcAction *a, bool returning)
{
	FcPrepared *p = prepared(exec, a);

	/*
	 * An action without children is "returned to" only when it entered (for
	 * example a Delay with action_if_past "enter"): continue, as the seed's
	 * default return hook does.
	 */
	if (returning && !a->type->has_children)
		return FC_DIR_CONTINUE;

	switch (a->type->kind)
	{
		case FC_ACTION_IF:
			if (returning)
				return FC_DIR_CONTINUE;
			return condition(exec, p->condition) ? FC_DIR_ENTER : FC_DIR_CONTINUE;
		case FC_ACTION_WHILE:
			return condition(exec, p->condition) ? FC_DIR_ENTER : FC_DIR_CONTINUE;
		case FC_ACTION_FOR:
			return for_loop(exec, a, p, returning);
		case FC_ACTION_LEAVE:
			return (p->condition[0] == '\0' || condition(exec, p->condition)) ?
				FC_DIR_LEAVE : FC_DIR_CONTINUE;
		case FC_ACTION_BREAK:
			return (p->condition[0] == '\0' || condition(exec, p->condition)) ?
				FC_DIR_BREAK : FC_DIR_CONTINUE;
		case FC_ACTION_ABORT:
			return FC_DIR_ABORT;
		case FC_ACTION_SET_STATE:
			return set_or_update_state(exec, p, true);
		case FC_ACTION_UPDATE_STATE:
			return set_or_update_state(exec, p, false);
		case FC_ACTION_START_FLOW:
			return start_flow(exec, p);
		case FC_ACTION_DELAY:
			return delay(exec, p);
		case FC_ACTION_WAIT_FOR_TRIGGER:
			check_wait_trigger(exec, p->trigger);
			exec->run->waiting_trigger_id = p->trigger;
			exec->run->waiting_trigger_match_object = p->require_object;
			exec->run->has_continue_after = false;
			return FC_DIR_SUSPEND;
		case FC_ACTION_SEND_ALERT:
			return send_alert(exec, p);
		case FC_ACTION_USER:
			break;
	}
	elog(ERROR, "unexpected built-in action kind %d", (int) a->type->kind);
	return FC_DIR_CONTINUE;
}

FcDirective
fc_action_call(FcExec *exec, FcAction *action, bool returning)
{
	if (action->type->kind == FC_ACTION_USER)
		return fc_actions_call_user(exec, action, returning);
	return call_builtin(exec, action, returning);
}
