/*-------------------------------------------------------------------------
 *
 * engine_int.h
 *	  What the engine's files share among themselves (engine.c,
 *	  engine_continue.c, engine_lifecycle.c only).
 *
 * engine.c executes a run and owns the executions in progress in this
 * backend; engine_continue.c (sweeping for runnable runs, retention) and
 * engine_lifecycle.c (creating, ending, resetting, pausing runs, deleting
 * flows) build on it.  Nothing outside the engine includes this file.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_ENGINE_INT_H
#define FC_ENGINE_INT_H

#include "engine_actions.h"

/*
 * The invariants of engine.c's header comment, asserted wherever the engine
 * moves a run into a state.  (A row edited by hand may break them;
 * executing it reports that with an ERROR instead.)
 */
#define AssertRunDone(run) \
	Assert((run)->status == FC_STATUS_DONE && \
		   (run)->outcome != FC_OUTCOME_NONE && (run)->has_done_at)
#define AssertRunWaiting(run) \
	Assert((run)->status == FC_STATUS_WAITING && (run)->action_id != 0 && \
		   ((run)->has_continue_after || (run)->waiting_trigger_id != 0) && \
		   (run)->outcome == FC_OUTCOME_NONE)
#define AssertRunPending(run) \
	Assert((run)->status == FC_STATUS_PENDING && \
		   (run)->outcome == FC_OUTCOME_NONE && !(run)->has_done_at)

/* engine.c */

/* The execution of run_id in progress in this backend, or NULL. */
extern FcExec *fc_engine_find_exec(int64 run_id);

/* Raise PROGRAM_LIMIT_EXCEEDED if message would grow log beyond max_log_size. */
extern void fc_engine_check_log_size(const char *log, const char *message);

/*
 * An error as a run's log keeps it: "SQLSTATE: message", then DETAIL and
 * HINT lines; palloc'd in the current memory context.
 */
extern char *fc_engine_describe_error(ErrorData *e);

/*
 * A run pinned to version of its flow has ended or moved to another
 * version: remove that version if it is an earlier one no run uses any
 * more (in a subtransaction of its own; a failure is logged and left).
 */
extern void fc_engine_release_version(int64 flow_id, int32 version);

/*
 * Execute a locked run; with defer_write, do not write the row but set
 * *needs_write and leave that to the caller (see
 * fc_engine_continue_runs_from).
 */
extern FcRun *fc_engine_execute_run(FcRun *input, int max_hot_loop, bool defer_write,
									bool *needs_write);

#endif							/* FC_ENGINE_INT_H */
