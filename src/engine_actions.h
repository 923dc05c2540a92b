/*-------------------------------------------------------------------------
 *
 * engine_actions.h
 *	  The engine as the built-in actions see it: the execution in progress,
 *	  and starting a child run.
 *
 * The engine (engine.c) calls the actions (actions.c); the actions reach
 * back into the engine only through what this file declares, and never
 * include engine.h.  Starting a child run (StartFlowAction) is the one
 * deliberate re-entry: the engine executes the child inside the parent's
 * action hook.  Everything here is implemented in engine.c and
 * engine_lifecycle.c.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_ENGINE_ACTIONS_H
#define FC_ENGINE_ACTIONS_H

#include "catalog.h"
#include "flowcache.h"
#include "runs.h"

#define FC_DEFAULT_MAX_HOT_LOOP 1000

/* One execution of a run, as the built-in actions see it. */
typedef struct FcExec
{
	FcRun	   *run;			/* in exec_cxt; state replaced as actions run */
	FcFlow	   *flow;
	Jsonb	   *object;			/* the object row, or NULL */
	Jsonb	   *context;		/* cached get_context(), or NULL when stale */
	Jsonb	   *context_state;	/* the state the cached context was built from */
	int			max_hot_loop;
	int		   *counts;			/* run, return hook calls per action index */
	int			current;		/* action index being executed */
	bool		returning;		/* running the return hook */
	FcRunOutcome finish_outcome;	/* set by cancel/abort/... during
									 * execution */
	char	   *finish_message;
	MemoryContext exec_cxt;
	struct FcExec *outer;		/* enclosing execution in this backend */
} FcExec;

/*
 * Replace the executing run's state with a copy of state in exec_cxt, or
 * its log with base (NULL: the current log) plus message; the superseded
 * copy (and the cached context) is freed, so memory stays proportional to
 * the size of state and log, not to the number of steps.  Raise
 * PROGRAM_LIMIT_EXCEEDED beyond max_state_size, or, with check_limit,
 * beyond max_log_size; the run is then unchanged.
 */
extern void fc_exec_set_state(FcExec *exec, Jsonb *state);
extern void fc_exec_set_log(FcExec *exec, const char *base, const char *message,
							bool check_limit);

/* The cached context of the current execution step. */
extern Jsonb *fc_exec_context(FcExec *exec);

/* Append a line to a log string (empty messages ignored); returns the new log. */
extern char *fc_log_append(const char *log, const char *message);

/* Flags of fc_engine_create_run() */
#define FC_CREATE_CHECK_VISIBLE	0x01	/* the caller must be able to see the
										 * flow */
#define FC_CREATE_OBJECT_LOCKED	0x02	/* the caller holds the object row's
										 * lock and took object_id from the
										 * row */
#define FC_CREATE_OBJECT_ADMITTED	0x04	/* the object's table was chosen
											 * by the owner: a table trigger
											 * of a name the flow is bound to
											 * fired for its row */
#define FC_CREATE_SKIP_UNADMITTED	0x08	/* an object the owner did not
											 * choose gives NULL instead of an
											 * error */

/*
 * Create a run, honouring activity, object table, limits and the trigger's
 * reset_to_action (reset_action_id: the trigger's reset_to_action_id as the
 * caller knows it, 0 for none, -1 to look it up).  Returns NULL when no run is created (not an error).
 * Per-object limits serialize on the object row (locked FOR NO KEY UPDATE
 * unless FC_CREATE_OBJECT_LOCKED), the flow-wide limit on an advisory lock
 * of the flow.  Caller is connected to SPI.
 */
extern FcRun *fc_engine_create_run(int64 flow_id, Oid object_table, const char *object_id,
								   Jsonb *state, int64 parent_run_id, int64 trigger_id,
								   int64 reset_action_id, int flags);

/*
 * Execute a run that the caller has locked (or just created).  Writes the
 * run row once when execution stops and returns the run as written, or the
 * run unchanged when it was not due.  Raises the engine's errors for
 * broken waiting runs.  Caller is connected to SPI.
 */
extern FcRun *fc_engine_execute_locked(FcRun *run, int max_hot_loop);

#endif							/* FC_ENGINE_ACTIONS_H */
