/*-------------------------------------------------------------------------
 *
 * actions.c
 *	  The built-in actions and the call into user actions.
 *
 * A built-in action's config is decoded once per cached flow into an
 * FcPrepared (validated on save by the very same decoder, so what was
 * accepted then is what runs now).  User actions are SQL functions called
 * through fmgr with the run as a flowcontrol.flow_run composite; the INOUT
 * form may change a fixed set of run columns.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "actions.h"
#include "catalog.h"
#include "compat.h"
#include "engine_actions.h"
#include "expr.h"
#include "flowcontrol.h"
#include "trigger_acl.h"

/* ---------------------------------------------------------------------
 * Config decoding
 * ---------------------------------------------------------------------
 */
typedef enum FcKeyType
{
	FC_KEY_STRING,
	FC_KEY_EXPR,				/* string holding an expression */
	FC_KEY_INT,
	FC_KEY_NUMBER,
	FC_KEY_BOOL,
	FC_KEY_OBJECT,
	FC_KEY_DIRECTIVE,
	FC_KEY_TIME,
	FC_KEY_TIMEZONE,
	FC_KEY_WEEKDAY
} FcKeyType;

typedef struct FcKeySpec
{
	const char *key;
	FcKeyType	type;
	bool		required;
} FcKeySpec;

static const FcKeySpec condition_keys[] = {{"condition", FC_KEY_EXPR, false}, {NULL}};
static const FcKeySpec for_keys[] = {
	{"var_name", FC_KEY_STRING, false}, {"start", FC_KEY_INT, false},
	{"end", FC_KEY_INT, false}, {"step", FC_KEY_INT, false}, {NULL}
};
static const FcKeySpec no_keys[] = {{NULL}};
static const FcKeySpec state_keys[] = {
	{"state", FC_KEY_OBJECT, false}, {"evaluate", FC_KEY_BOOL, false}, {NULL}
};
static const FcKeySpec start_flow_keys[] = {
	{"start_flow", FC_KEY_INT, true}, {"immediate", FC_KEY_BOOL, false},
	{"pass_object", FC_KEY_BOOL, false}, {"pass_state", FC_KEY_BOOL, false}, {NULL}
};
static const FcKeySpec delay_keys[] = {
	{"base_date_template", FC_KEY_EXPR, false}, {"months", FC_KEY_INT, false},
	{"seconds", FC_KEY_NUMBER, false}, {"weekday", FC_KEY_WEEKDAY, false},
	{"time", FC_KEY_TIME, false}, {"timezone", FC_KEY_TIMEZONE, false},
	{"action_if_past", FC_KEY_DIRECTIVE, false}, {NULL}
};
static const FcKeySpec wait_keys[] = {
	{"trigger", FC_KEY_INT, true}, {"require_object", FC_KEY_BOOL, false}, {NULL}
};
static const FcKeySpec alert_keys[] = {
	{"subject", FC_KEY_STRING, false}, {"body", FC_KEY_STRING, false},
	{"templated", FC_KEY_BOOL, false}, {"recipient", FC_KEY_STRING, false},
	{"channel", FC_KEY_STRING, false}, {NULL}
};

static const FcKeySpec *
keys_for(FcActionKind kind)
{
	switch (kind)
	{
		case FC_ACTION_IF:
		case FC_ACTION_WHILE:
		case FC_ACTION_LEAVE:
		case FC_ACTION_BREAK:
			return condition_keys;
		case FC_ACTION_FOR:
			return for_keys;
		case FC_ACTION_ABORT:
			return no_keys;
		case FC_ACTION_SET_STATE:
		case FC_ACTION_UPDATE_STATE:
			return state_keys;
		case FC_ACTION_START_FLOW:
			return start_flow_keys;
		case FC_ACTION_DELAY:
			return delay_keys;
		case FC_ACTION_WAIT_FOR_TRIGGER:
			return wait_keys;
		case FC_ACTION_SEND_ALERT:
			return alert_keys;
		case FC_ACTION_USER:
			break;
	}
	return NULL;
}

/* A built-in action's decoded config. */
typedef struct FcPrepared
{
	char	   *condition;
	/* ForLoopAction */
	char	   *var_name;
	int64		start;
	int64		end;
	int64		step;
	/* Set/UpdateStateAction */
	Jsonb	   *state;
	bool		evaluate;
	/* StartFlowAction */
	int64		start_flow;
	bool		immediate;
	bool		pass_object;
	bool		pass_state;
	/* DelayAction */
	char	   *base_date_template;
	int64		months;
	double		seconds;
	int			weekday;		/* -1: none */
	bool		has_time;
	int			hour;
	int			minute;
	int			second;
	char	   *timezone;
	FcDirective action_if_past;
	/* WaitForTriggerAction */
	int64		trigger;
	bool		require_object;
	/* SendAlertAction */
	char	   *subject;
	char	   *body;
	bool		templated;
	char	   *recipient;
	char	   *channel;
} FcPrepared;

static void
config_error(const char *action, const char *key, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("config key \"%s\" of action %s must be %s", key, action, what)));
}

static char *
jbv_string(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static bool
jbv_int64(const JsonbValue *v, int64 *result)
{
	Numeric		n;

	if (v->type != jbvNumeric)
		return false;
	n = v->val.numeric;
	if (numeric_is_nan(n) || numeric_is_inf(n))
		return false;
	{
		/* integral when the text form has no nonzero fraction digit */
		char	   *str = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
		char	   *dot = strchr(str, '.');
		char	   *end;

		if (dot != NULL)
		{
			if (strspn(dot + 1, "0") != strlen(dot + 1))
				return false;
			*dot = '\0';
		}
		errno = 0;
		*result = strtoi64(str, &end, 10);
		if (errno != 0 || *end != '\0')
			return false;
	}
	return true;
}

static bool
parse_time_of_day(const char *s, int *h, int *m, int *sec)
{
	int			n = 0;
	int			len = strlen(s);

	*sec = 0;
	if (sscanf(s, "%2d:%2d:%2d%n", h, m, sec, &n) == 3 && n == len)
		;
	else if (sscanf(s, "%2d:%2d%n", h, m, &n) == 2 && n == len)
		*sec = 0;
	else
		return false;
	return *h >= 0 && *h < 24 && *m >= 0 && *m < 60 && *sec >= 0 && *sec < 60;
}

typedef struct FcKeyContext
{
	const char *action;
	const char *key;
} FcKeyContext;

/*
 * While fc_actions_validate_config() checks a config being saved: where the
 * action is ("actions[1].children[0]", "action 17 of flow 5"), for the
 * messages; NULL while a run decodes a config.  config_error_placed says
 * that the error being thrown names it already.
 */
static const char *validate_where = NULL;
static bool config_error_placed = false;

static void
key_error_callback(void *arg)
{
	FcKeyContext *kc = (FcKeyContext *) arg;

	/* a saved config's errors name the key in their message */
	if (validate_where != NULL)
		return;
	errcontext("config key \"%s\" of action %s", kc->key, kc->action);
}

/*
 * Re-throw the error being handled (in a PG_CATCH block, whose memory
 * context the caller restored) with a message that says where it is:
 * "PREFIX: message" or "message SUFFIX".  Its SQLSTATE, DETAIL and HINT are
 * kept.  Query cancel and shutdown are re-thrown as they are.
 */
void
fc_actions_rethrow_placed(const char *prefix, const char *suffix)
{
	ErrorData  *edata = CopyErrorData();

	if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION)
		PG_RE_THROW();
	FlushErrorState();
	ereport(ERROR,
			(errcode(edata->sqlerrcode),
			 prefix ? errmsg_internal("%s: %s", prefix, edata->message) :
			 errmsg_internal("%s %s", edata->message, suffix),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 edata->hint ? errhint("%s", edata->hint) : 0));
}

/*
 * Check an expression (or a template) of a config key.  A saved config's
 * expressions are checked as validate_expression() checks them, unknown
 * filter names included, and errors say where they are; a run only parses
 * them (a filter is looked up when it is applied).
 */
static void
check_config_expression(const char *action, const char *key, const char *source,
						bool template)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (validate_where == NULL)
	{
		if (template)
			fc_expr_validate_template(source);
		else
			(void) fc_expr_get(source);
		return;
	}
	PG_TRY();
	{
		if (template)
			fc_expr_validate_template_filters(source);
		else
			fc_expr_check_filters(fc_expr_get(source));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		config_error_placed = true;
		fc_actions_rethrow_placed(psprintf("invalid %s in config key \"%s\" of %s at %s",
										   template ? "template" :
										   strcmp(key, "condition") == 0 ? "condition" : "expression",
										   key, action, validate_where), NULL);
	}
	PG_END_TRY();
}

/*
 * Decode (and so validate) a built-in action's config.  Errors name the key.
 */
static FcPrepared *
decode_config(const char *action, FcActionKind kind, Jsonb *config)
{
	const FcKeySpec *keys = keys_for(kind);
	FcPrepared *p = palloc0(sizeof(FcPrepared));
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k;
	JsonbValue	v;
	bool		seen[16] = {0};
	int			i;

	/* defaults */
	p->condition = "";
	p->step = 1;
	p->pass_object = true;
	p->weekday = -1;
	p->action_if_past = FC_DIR_CONTINUE;
	p->require_object = true;
	p->channel = "flowcontrol_alert";
	p->subject = "";
	p->body = "";
	p->base_date_template = "";

	if (!JB_ROOT_IS_OBJECT(config) || JB_ROOT_IS_SCALAR(config))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("config of action %s must be a JSON object", action)));

	it = JsonbIteratorInit(&config->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		const FcKeySpec *spec = NULL;
		ErrorContextCallback errcallback;
		FcKeyContext kc;

		if (tok != WJB_KEY)
			continue;
		key = jbv_string(&k);
		(void) JsonbIteratorNext(&it, &v, true);

		for (i = 0; keys[i].key != NULL; i++)
			if (strcmp(keys[i].key, key) == 0)
				spec = &keys[i];
		if (spec == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown config key \"%s\" for action %s", key, action)));
		seen[spec - keys] = true;

		kc.action = action;
		kc.key = key;
		errcallback.callback = key_error_callback;
		errcallback.arg = &kc;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;

		switch (spec->type)
		{
			case FC_KEY_STRING:
			case FC_KEY_EXPR:
			case FC_KEY_DIRECTIVE:
			case FC_KEY_TIME:
			case FC_KEY_TIMEZONE:
				{
					char	   *s;

					if (v.type != jbvString)
						config_error(action, key, "a string");
					s = jbv_string(&v);
					if (spec->type == FC_KEY_EXPR)
						check_config_expression(action, key, s, false);
					else if (spec->type == FC_KEY_DIRECTIVE)
					{
						int			d = fc_directive_from_name(s);

						if (d < 0)
							ereport(ERROR,
									(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
									 errmsg("config key \"%s\" of action %s must be a directive, not \"%s\"",
											key, action, s),
									 errhint("Directives are continue, enter, leave, break, abort, suspend and suspend_and_repeat.")));
						p->action_if_past = (FcDirective) d;
					}
					else if (spec->type == FC_KEY_TIME)
					{
						if (!parse_time_of_day(s, &p->hour, &p->minute, &p->second))
							ereport(ERROR,
									(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
									 errmsg("config key \"%s\" of action %s must be a time of day HH:MM[:SS], not \"%s\"",
											key, action, s)));
						p->has_time = true;
					}
					else if (spec->type == FC_KEY_TIMEZONE)
					{
						if (pg_tzset(s) == NULL)
							ereport(ERROR,
									(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
									 errmsg("config key \"%s\" of action %s names an unknown time zone \"%s\"",
											key, action, s)));
						p->timezone = s;
					}

					if (strcmp(key, "condition") == 0)
						p->condition = s;
					else if (strcmp(key, "var_name") == 0)
						p->var_name = s;
					else if (strcmp(key, "base_date_template") == 0)
						p->base_date_template = s;
					else if (strcmp(key, "subject") == 0)
						p->subject = s;
					else if (strcmp(key, "body") == 0)
						p->body = s;
					else if (strcmp(key, "recipient") == 0)
						p->recipient = s;
					else if (strcmp(key, "channel") == 0)
					{
						if (s[0] == '\0' || strlen(s) >= NAMEDATALEN)
							config_error(action, key, "a channel name of 1 to 63 bytes");
						p->channel = s;
					}
					break;
				}
			case FC_KEY_INT:
			case FC_KEY_WEEKDAY:
				{
					int64		n;

					if (!jbv_int64(&v, &n))
						config_error(action, key, "an integer");
					if (spec->type == FC_KEY_WEEKDAY)
					{
						if (n < 0 || n > 6)
							config_error(action, key, "a weekday from 0 (Monday) to 6 (Sunday)");
						p->weekday = (int) n;
					}
					else if (strcmp(key, "start") == 0)
						p->start = n;
					else if (strcmp(key, "end") == 0)
						p->end = n;
					else if (strcmp(key, "step") == 0)
					{
						if (n <= 0)
							config_error(action, key, "a positive integer");
						p->step = n;
					}
					else if (strcmp(key, "start_flow") == 0)
						p->start_flow = n;
					else if (strcmp(key, "months") == 0)
					{
						if (n < -12000 || n > 12000)
							config_error(action, key, "an integer from -12000 to 12000");
						p->months = n;
					}
					else if (strcmp(key, "trigger") == 0)
						p->trigger = n;
					break;
				}
			case FC_KEY_NUMBER:
				if (v.type != jbvNumeric)
					config_error(action, key, "a number");
				p->seconds = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
																NumericGetDatum(v.val.numeric)));
				if (p->seconds < -1e12 || p->seconds > 1e12)
					config_error(action, key, "a number of seconds within 1e12");
				break;
			case FC_KEY_BOOL:
				if (v.type != jbvBool)
					config_error(action, key, "a boolean");
				if (strcmp(key, "evaluate") == 0)
					p->evaluate = v.val.boolean;
				else if (strcmp(key, "immediate") == 0)
					p->immediate = v.val.boolean;
				else if (strcmp(key, "pass_object") == 0)
					p->pass_object = v.val.boolean;
				else if (strcmp(key, "pass_state") == 0)
					p->pass_state = v.val.boolean;
				else if (strcmp(key, "require_object") == 0)
					p->require_object = v.val.boolean;
				else if (strcmp(key, "templated") == 0)
					p->templated = v.val.boolean;
				break;
			case FC_KEY_OBJECT:
				if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
					config_error(action, key, "a JSON object");
				p->state = JsonbValueToJsonb(&v);
				break;
		}
		error_context_stack = errcallback.previous;
	}

	for (i = 0; keys[i].key != NULL; i++)
		if (keys[i].required && !seen[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("config key \"%s\" is required for action %s", keys[i].key, action)));

	/* expressions inside values that only become expressions by other keys */
	if (p->templated)
	{
		check_config_expression(action, "subject", p->subject, true);
		check_config_expression(action, "body", p->body, true);
	}
	if (p->evaluate && p->state != NULL)
	{
		it = JsonbIteratorInit(&p->state->root);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			(void) JsonbIteratorNext(&it, &v, true);
			if (v.type == jbvString)
			{
				ErrorContextCallback errcallback;
				FcKeyContext kc;

				kc.action = action;
				kc.key = psprintf("state.%s", jbv_string(&k));
				errcallback.callback = key_error_callback;
				errcallback.arg = &kc;
				errcallback.previous = error_context_stack;
				error_context_stack = &errcallback;
				check_config_expression(action, kc.key, jbv_string(&v), false);
				error_context_stack = errcallback.previous;
			}
		}
	}
	return p;
}

void
fc_actions_validate_config(const char *action, bool builtin, Jsonb *config,
						   const char *where)
{
	MemoryContext cxt = CurrentMemoryContext;

	Assert(where != NULL && validate_where == NULL);
	validate_where = where;
	config_error_placed = false;
	PG_TRY();
	{
		const FcActionType *type;

		if (!JB_ROOT_IS_OBJECT(config) || JB_ROOT_IS_SCALAR(config))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("config of action %s must be a JSON object", action)));
		if (builtin)
		{
			type = fc_catalog_get_action_type(action);
			if (type != NULL && type->kind != FC_ACTION_USER)
				(void) decode_config(action, type->kind, config);
		}
	}
	PG_CATCH();
	{
		validate_where = NULL;
		if (config_error_placed)
			PG_RE_THROW();
		MemoryContextSwitchTo(cxt);
		fc_actions_rethrow_placed(NULL, psprintf("at %s", where));
	}
	PG_END_TRY();
	validate_where = NULL;
}

static FcPrepared *
prepared(FcExec *exec, FcAction *a)
{
	if (a->prepared == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(exec->flow->cxt);

		a->prepared = decode_config(a->type->name, a->type->kind, a->config);
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
		if (!jbv_int64(cur, &counter))
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
				char	   *src = jbv_string(&v);

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
		s = jbv_string(&scalar);
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

/* ---------------------------------------------------------------------
 * User actions
 * ---------------------------------------------------------------------
 */
typedef struct FcFunctionEntry
{
	char		signature[NAMEDATALEN * 8];
	Oid			fn;
} FcFunctionEntry;

static HTAB *function_cache = NULL;

/* The function with this stored signature, or InvalidOid. */
static Oid
resolve_signature(const char *signature)
{
	FcFunctionEntry *entry;
	bool		found;
	Datum		d;
	Oid			fn;

	LOCAL_FCINFO(lookup, 1);

	if (strlen(signature) >= NAMEDATALEN * 8)
		return InvalidOid;
	if (function_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN * 8;
		ctl.entrysize = sizeof(FcFunctionEntry);
		function_cache = hash_create("flowcontrol action functions", 16, &ctl,
									 HASH_ELEM | HASH_STRINGS);
	}
	entry = hash_search(function_cache, signature, HASH_FIND, &found);
	if (found && SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(entry->fn)))
		return entry->fn;

	/* to_regprocedure(): NULL rather than an error when it is gone */
	InitFunctionCallInfoData(*lookup, NULL, 1, InvalidOid, NULL, NULL);
	lookup->args[0].value = CStringGetTextDatum(signature);
	lookup->args[0].isnull = false;
	d = to_regprocedure(lookup);
	if (lookup->isnull)
		return InvalidOid;
	fn = DatumGetObjectId(d);
	entry = hash_search(function_cache, signature, HASH_ENTER, NULL);
	entry->fn = fn;
	return fn;
}

static void
check_unchanged(const char *action, const char *column, bool same)
{
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action %s changed column \"%s\" of its run, which actions may not change",
						action, column),
				 errhint("Actions may change state, continue_after, waiting_trigger_id, waiting_trigger_match_object, repeat_action and log.")));
}

static FcDirective
call_user(FcExec *exec, FcAction *a, bool returning)
{
	const char *signature = returning ? a->type->return_signature : a->type->run_signature;
	FcRun	   *run = exec->run;
	char	   *log_at_call;
	Oid			fn;
	FmgrInfo	flinfo;
	Datum		result;
	bool		isnull;
	Oid			dirtype = fc_catalog_type("directive");

	LOCAL_FCINFO(fcinfo, 3);

	if (signature == NULL)
	{
		if (returning)
			return FC_DIR_CONTINUE;
		fn = InvalidOid;
	}
	else
		fn = resolve_signature(signature);
	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("Action %s is missing or not found", a->type->name)));

	fc_catalog_check_execute(fn);
	fmgr_info(fn, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 3, InvalidOid, NULL, NULL);
	run->status = FC_STATUS_RUNNING;
	log_at_call = pstrdup(run->log ? run->log : "");
	fcinfo->args[0].value = fc_run_to_datum(run);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = exec->object ? JsonbPGetDatum(exec->object) : (Datum) 0;
	fcinfo->args[1].isnull = exec->object == NULL;
	fcinfo->args[2].value = JsonbPGetDatum(a->config);
	fcinfo->args[2].isnull = false;

	/*
	 * A STRICT function is not called with a NULL argument (the object of a
	 * run without one): as the executor would, take its result as NULL, which
	 * like any NULL result means continue.
	 */
	if (flinfo.fn_strict && fcinfo->args[1].isnull)
		return FC_DIR_CONTINUE;
	InvokeFunctionExecuteHook(fn);
	result = FunctionCallInvoke(fcinfo);
	isnull = fcinfo->isnull;
	if (isnull)
		return FC_DIR_CONTINUE;

	if (get_func_rettype(fn) == dirtype)
		return (FcDirective) fc_catalog_enum_value(FC_ENUM_DIRECTIVE, DatumGetObjectId(result));

	/* INOUT form: (run flow_run, directive directive) */
	{
		HeapTupleHeader td = DatumGetHeapTupleHeader(result);
		TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(td),
													 HeapTupleHeaderGetTypMod(td));
		HeapTupleData tmptup;
		Datum		values[2];
		bool		nulls[2];
		FcDirective d = FC_DIR_CONTINUE;

		if (tupdesc->natts != 2)
			elog(ERROR, "action %s returned %d columns, expected 2", a->type->name, tupdesc->natts);
		tmptup.t_len = HeapTupleHeaderGetDatumLength(td);
		ItemPointerSetInvalid(&(tmptup.t_self));
		tmptup.t_tableOid = InvalidOid;
		tmptup.t_data = td;
		heap_deform_tuple(&tmptup, tupdesc, values, nulls);
		ReleaseTupleDesc(tupdesc);

		if (!nulls[1])
			d = (FcDirective) fc_catalog_enum_value(FC_ENUM_DIRECTIVE, DatumGetObjectId(values[1]));
		if (!nulls[0])
		{
			FcRun	   *out = fc_run_from_datum(values[0]);

			check_unchanged(a->type->name, "id", out->id == run->id);
			check_unchanged(a->type->name, "flow_id", out->flow_id == run->flow_id);
			check_unchanged(a->type->name, "parent_run_id", out->parent_run_id == run->parent_run_id);
			check_unchanged(a->type->name, "trigger_id", out->trigger_id == run->trigger_id);
			check_unchanged(a->type->name, "action_id", out->action_id == run->action_id);
			check_unchanged(a->type->name, "status", out->status == run->status);
			check_unchanged(a->type->name, "outcome", out->outcome == run->outcome);
			check_unchanged(a->type->name, "created_at", out->created_at == run->created_at);
			check_unchanged(a->type->name, "done_at", out->has_done_at == run->has_done_at &&
							(!out->has_done_at || out->done_at == run->done_at));
			check_unchanged(a->type->name, "object_table", out->object_table == run->object_table);
			check_unchanged(a->type->name, "attempt", out->attempt == run->attempt);
			check_unchanged(a->type->name, "object_id",
							(out->object_id == NULL) == (run->object_id == NULL) &&
							(out->object_id == NULL || strcmp(out->object_id, run->object_id) == 0));

			if (out->state != NULL &&
				(!JB_ROOT_IS_OBJECT(out->state) || JB_ROOT_IS_SCALAR(out->state)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("action %s set the run state to a value that is not a JSON object",
								a->type->name)));
			fc_exec_set_state(exec, out->state ? out->state : fc_empty_object());
			run->has_continue_after = out->has_continue_after;
			run->continue_after = out->continue_after;
			/* a trigger the owner may not wait for is one that does not exist */
			if (out->waiting_trigger_id != 0 && out->waiting_trigger_id != run->waiting_trigger_id)
				(void) fc_trigger_check_wait(out->waiting_trigger_id, exec->flow->owner);
			run->waiting_trigger_id = out->waiting_trigger_id;
			run->waiting_trigger_match_object = out->waiting_trigger_match_object;
			run->repeat_action = out->repeat_action;
			{
				/*
				 * Lines the action added with append_log() on its own run
				 * went to exec->run while it ran; keep them after the log it
				 * returned.
				 */
				size_t		len = strlen(log_at_call);
				const char *added = NULL;

				if (strcmp(run->log, log_at_call) != 0 &&
					strncmp(run->log, log_at_call, len) == 0)
				{
					added = run->log + len;
					if (*added == '\n')
						added++;
				}
				/* those lines carry their times already */
				fc_exec_set_log(exec, fc_log_append(out->log ? out->log : "", added),
								NULL, true);
			}
		}
		return d;
	}
}

FcDirective
fc_action_call(FcExec *exec, FcAction *action, bool returning)
{
	if (action->type->kind == FC_ACTION_USER)
		return call_user(exec, action, returning);
	return call_builtin(exec, action, returning);
}
