/*-------------------------------------------------------------------------
 *
 * actions_int.h
 *	  What the action files share (actions.c, action_config.c,
 *	  action_user.c only).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_ACTIONS_INT_H
#define FC_ACTIONS_INT_H

#include "engine_actions.h"

/*
 * A built-in action's config, decoded: kept in the cached flow's memory
 * context (FcAction.prepared), so a run decodes it once per cached flow.
 */
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

/* action_config.c */

/*
 * Decode (and so validate) a built-in action's config, in the current
 * memory context.  Errors name the key; ERROR on a bad config.
 */
extern FcPrepared *fc_actions_decode_config(const char *action, FcActionKind kind,
											Jsonb *config);

/* A jsonb string as a palloc'd C string. */
extern char *fc_actions_jbv_string(const JsonbValue *v);

/* A jsonb number that is a whole int64: true and *result, else false. */
extern bool fc_actions_jbv_int64(const JsonbValue *v, int64 *result);

/* action_user.c */

/*
 * Call a user action's hook (an SQL function, as the flow owner, in the
 * caller's subtransaction) and return its directive; its INOUT form may
 * change a fixed set of the run's columns.
 */
extern FcDirective fc_actions_call_user(FcExec *exec, FcAction *a, bool returning);

#endif							/* FC_ACTIONS_INT_H */
