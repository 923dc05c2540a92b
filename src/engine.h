/*-------------------------------------------------------------------------
 *
 * engine.h
 *	  Executing flow runs: the directive loop, limits, life-cycle changes.
 *
 * The part of this interface that the built-in actions may use is in
 * engine_actions.h, which this file includes.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_ENGINE_H
#define FC_ENGINE_H

#include "catalog.h"
#include "flowcache.h"
#include "runs.h"
#include "engine_actions.h"

/* Size limits of a run's state and log, in kB (flowcontrol.max_*_size) */
extern PGDLLIMPORT int fc_max_state_size;
extern PGDLLIMPORT int fc_max_log_size;

/* Define the engine's settings; called by _PG_init. */
extern void fc_engine_define_settings(void);

/* Raise PROGRAM_LIMIT_EXCEEDED for a state larger than max_state_size. */
extern void fc_engine_check_state_size(Jsonb *state);

/* get_context(): the run state plus "object" and "obj". */
extern Jsonb *fc_engine_context(Jsonb *state, Jsonb *object);

/* A log entry: each line of message prefixed with "at" in UTC (see engine.c). */
extern char *fc_log_line(const char *message, TimestampTz at);

/* Lock and execute a run by id; NULL with a WARNING when not executable. */
extern FcRun *fc_engine_execute(int64 run_id, int max_hot_loop, bool check_visible);

/*
 * The id of the run fc_engine_continue_runs_from() is executing, 0 between
 * runs.  An error that escapes a run (a transient one, re-thrown, or a
 * cancel) leaves it set: the worker reads it to tell which run failed, and
 * clears it.
 */
extern PGDLLIMPORT int64 fc_engine_current_run;

/*
 * Delete runs that are done and finished before "before", in batches of
 * FC_CLEANUP_BATCH, skipping rows locked by others; at most max_runs (0: no
 * limit).  visible_only: only runs of flows whose owner the current user is
 * a member of (all for a superuser).  Returns how many.  Caller is
 * connected to SPI; runs in the caller's transaction.
 */
#define FC_CLEANUP_BATCH 1000
extern int64 fc_engine_cleanup_runs(TimestampTz before, int64 max_runs, bool visible_only);

/*
 * Execute every runnable run (pending without continue_after, waiting and
 * due), each at most once, skipping runs locked by other sessions; stop
 * after max_runs (<= 0: no limit).  Each run executes in its own
 * subtransaction, so one run's failure never undoes another's progress.
 * Only runs of flows the current user can see, unless it is a superuser.
 * Returns how many were executed.  Caller is connected to SPI; runs in the
 * caller's transaction, whose locks on the executed runs it leaves held.
 */
extern int	fc_engine_continue_runs(int max_runs);

/*
 * The same, with the background worker's limits, and only for runs with an
 * id above *cursor, which is advanced past the last run looked at: the
 * worker sweeps a backlog in units without rescanning, in every unit, the
 * index entries of the runs it already executed.  Candidates are read
 * without locks and each is locked (SKIP LOCKED) just before it executes,
 * so the call holds locks only on runs it executed or is executing.  When
 * more runnable runs than the one about to execute were found, it calls
 * fc_wakeup_share_work() once.
 */
typedef struct FcContinueLimits
{
	int			max_runs;		/* most runs to execute; <= 0: no limit */
	TimestampTz deadline;		/* checked between runs; 0: none */
	const int64 *behind;		/* runs to leave out (put behind) */
	int			nbehind;
	int64		only;			/* if not 0: execute only this run */
	const volatile bool *stop;	/* if set: stop between runs once true */
	bool		more;			/* out: stopped with runs left to look at */
} FcContinueLimits;

extern int	fc_engine_continue_runs_from(FcContinueLimits *limits, int64 *cursor);

/* Life-cycle changes used by the SQL functions; all return the run. */
extern FcRun *fc_engine_finish(int64 run_id, FcRunOutcome outcome, const char *message,
							   bool only_if_not_done);
extern FcRun *fc_engine_reset(int64 run_id, int64 action_id, int64 trigger_id,
							  Jsonb *state, bool check_visible);
extern FcRun *fc_engine_pause(int64 run_id);
extern FcRun *fc_engine_resume(int64 run_id);
extern FcRun *fc_engine_append_log(int64 run_id, const char *message);
extern int64 fc_engine_cancel_for_object(Oid object_table, const char *object_id);

/*
 * delete_flow(): delete a flow the current user may see, with its actions,
 * triggers and runs; refused while runs are not done unless cancel_runs,
 * which cancels them first (waiting for runs executing elsewhere).  Caller
 * is connected to SPI.
 */
extern void fc_engine_delete_flow(int64 flow_id, bool cancel_runs);

/* Lock a flow name being deployed until the transaction ends. */
extern void fc_engine_lock_flow_name(const char *name);

/* Raise UNDEFINED_OBJECT unless the current user may see flows of owner. */
extern void fc_engine_check_visible(const FcFlow *flow, const char *what, int64 id);

/*
 * Run fn(arg) in a subtransaction; with a valid userid, as that owner:
 * when fn runs SQL of anyone's (runs_sql), as in a fresh session of the
 * owner (fc_owner_enter), else only as the owner (fc_owner_become);
 * without a userid, as the caller.  On error the subtransaction is rolled
 * back and false is returned with *edata set; transient errors
 * (fc_engine_error_is_transient: cancel, shutdown, serialization failure,
 * deadlock, out of memory) are re-thrown.  The only catch-and-continue in
 * flowcontrol.
 */
extern bool fc_engine_error_is_transient(int sqlerrcode);
extern bool fc_engine_guarded(void (*fn) (void *arg), void *arg, Oid userid, bool runs_sql,
							  ErrorData **edata);

/*
 * The same under a time limit (timeout.c): the smaller of timeout_ms (0:
 * none) and, when runs_sql, the statement_timeout of a new session of the
 * owner.  When it runs out, the call fails with SQLSTATE 57014 ("timed out
 * after 2 s") like any other error of fn: false with *edata set.
 */
extern bool fc_engine_guarded_timed(void (*fn) (void *arg), void *arg, Oid userid,
									bool runs_sql, ErrorData **edata, int timeout_ms);

#endif							/* FC_ENGINE_H */
