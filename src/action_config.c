/*-------------------------------------------------------------------------
 *
 * action_config.c
 *	  Decoding and validating a built-in action's config.
 *
 * A built-in action's config is decoded once per cached flow into an
 * FcPrepared, and validated on save by the very same decoder, so what was
 * accepted then is what runs now.  A user action's config is only checked
 * to be an object.  Errors name the key and where the action is.
 *
 * This file owns the keys each built-in action accepts.  It must not
 * execute anything: it parses expressions (to check their syntax and
 * filter names) but never evaluates them, and reads flowcontrol's tables
 * only to look up an action type or a registered filter (catalog.c).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "actions.h"
#include "actions_int.h"
#include "catalog.h"
#include "compat.h"
#include "engine_actions.h"
#include "expr.h"

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
static void
config_error(const char *action, const char *key, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("config key \"%s\" of action %s must be %s", key, action, what)));
}

char *
fc_actions_jbv_string(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

bool
fc_actions_jbv_int64(const JsonbValue *v, int64 *result)
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
FcPrepared *
fc_actions_decode_config(const char *action, FcActionKind kind, Jsonb *config)
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
		key = fc_actions_jbv_string(&k);
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
					s = fc_actions_jbv_string(&v);
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

					if (!fc_actions_jbv_int64(&v, &n))
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
				kc.key = psprintf("state.%s", fc_actions_jbv_string(&k));
				errcallback.callback = key_error_callback;
				errcallback.arg = &kc;
				errcallback.previous = error_context_stack;
				error_context_stack = &errcallback;
				check_config_expression(action, kc.key, fc_actions_jbv_string(&v), false);
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
				(void) fc_actions_decode_config(action, type->kind, config);
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
