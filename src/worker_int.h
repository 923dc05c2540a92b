/*-------------------------------------------------------------------------
 *
 * worker_int.h
 *	  The pool's constants and the types of its shared memory, shared by
 *	  the files of the background worker only (worker.c, worker_shmem.c,
 *	  wakeup.c, launcher.c).
 *
 * Locking rules are those of worker.c's header comment: one LWLock
 * protects every field of FcWorkerShared.  This header includes no other
 * flowcontrol header, so any file of the pool may include it.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_WORKER_INT_H
#define FC_WORKER_INT_H

#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

/*
 * The pool's constants.  Times are in milliseconds unless the name says
 * otherwise; see doc/worker.md for what they mean to a user.
 */

/* worker.c: pause after an ERROR escaped a unit of work; doubles while
 * errors repeat, up to the maximum (and never beyond poll_interval) */
#define FC_ERROR_PAUSE_MS		1000
#define FC_ERROR_PAUSE_MAX_MS	60000

/* worker.c: a unit of work executes up to batch_size runs, starting none
 * after this time, so a slow run does not keep many results uncommitted */
#define FC_UNIT_TIME_MS			100

/* worker.c: a sweep over a backlog starts again from the lowest run id
 * after this many units, so that runs that became due meanwhile with lower
 * ids do not wait for the end of a long backlog */
#define FC_SWEEP_UNITS			10

/* worker.c: most runs a worker remembers as put behind (an error aborted
 * their execution); the oldest is forgotten beyond it */
#define FC_BEHIND_MAX			8

/* worker.c: after this many transient failures in a row of the same run,
 * the worker ends the run errored (give_up_failing_run) */
#define FC_TRANSIENT_ATTEMPTS	3

/* worker.c: an idle worker looks for runs to delete (flowcontrol.retention)
 * at most this often, unless its last batch was full */
#define FC_CLEANUP_PAUSE_MS		60000

/* worker.c: the longest a served database goes without a worker's visit,
 * in poll_intervals (a minute by default), even with nothing known due */
#define FC_POOL_REVISIT_POLLS	6

/* launcher.c: a worker that exits sooner than this after its start counts
 * as failing, and delays the next start in its database */
#define FC_WORKER_MIN_LIFE_MS	10000

/* launcher.c: restart delay after the first failure; doubles while
 * workers keep failing, up to the maximum */
#define FC_RESTART_DELAY_MS		1000
#define FC_RESTART_DELAY_MAX_MS 60000

/* launcher.c: the pool: a worker's turn in a database before it may be
 * asked to leave for another database */
#define FC_TURN_MS				500

/* worker_shmem.c: the LWLock tranche of FcWorkerShared.lock */
#define FC_LWLOCK_TRANCHE		"flowcontrol workers"

/* upper bound of flowcontrol.max_workers; sizes the arrays below */
#define FC_MAX_WORKERS			64

/*
 * Databases the pool keeps track of at a time (those known to have the
 * extension, and those being looked at for the first time).  A database
 * beyond it is not served by the workers (logged); see doc/worker.md.
 */
#define FC_MAX_DATABASES		256

#define FC_LAST_ERROR_LEN		256

typedef enum FcWorkerState
{
	FC_WS_STARTING,
	FC_WS_IDLE,
	FC_WS_RUNNING,
	FC_WS_DISABLED,
	FC_WS_NO_EXTENSION,
	FC_WS_NO_DATABASE,
	FC_WS_NO_ROLE,
	FC_WS_DROP_DATABASE,
	FC_WS_ERROR_PAUSE,
	FC_WS_NO_BGW_SLOT,
	FC_WS_LEAVING
} FcWorkerState;

/* How flowcontrol.database names the databases to serve. */
typedef enum FcDatabaseMode
{
	FC_DB_ONE,					/* one name: workers stay connected to it */
	FC_DB_LIST,					/* names separated by commas: the pool */
	FC_DB_ALL					/* '*': the pool, every database */
} FcDatabaseMode;

/* One process's state, as shown by flowcontrol.workers. */
typedef struct FcWorkerSlot
{
	pid_t		pid;			/* 0: no process */
	Latch	   *latch;
	FcWorkerState state;
	Oid			database;		/* workers: set by the launcher before start */
	bool		leave;			/* the launcher asks it to exit between units */
	bool		clean_exit;		/* it exited of its own accord (pool) */
	int64		runs_executed;
	int64		errors;
	TimestampTz started_at;
	TimestampTz last_wakeup;
	TimestampTz next_wakeup;	/* see the invariants in worker.c */
	TransactionId early_xid;	/* woken at a committer's PRE_COMMIT: its
								 * transaction, to wait for (worker.c) */
	char		last_error[FC_LAST_ERROR_LEN];
} FcWorkerSlot;

/*
 * A database the pool serves.  due_at is the earliest time at which work is
 * known to be due there while no worker is connected to it (DT_NOEND:
 * none); it is also the time since which that work waits, which orders
 * the databases waiting for a worker.  Registrations by CREATE EXTENSION
 * bump generation, so that a worker that found no extension with an older
 * snapshot does not forget the database.
 */
typedef struct FcDatabaseSlot
{
	Oid			dboid;			/* InvalidOid: free */
	TimestampTz due_at;
	bool		backlog;		/* its workers found more than they took */
	uint32		generation;
} FcDatabaseSlot;

typedef struct FcWorkerShared
{
	LWLock	   *lock;			/* protects everything here */
	FcDatabaseMode mode;
	Oid			role;			/* flowcontrol.role's OID, InvalidOid: default */
	Oid			dropping_database;	/* DROP DATABASE of it in progress */
	int			nworkers;
	FcWorkerSlot launcher;
	FcDatabaseSlot databases[FC_MAX_DATABASES];
	FcWorkerSlot workers[FLEXIBLE_ARRAY_MEMBER];
} FcWorkerShared;

#endif							/* FC_WORKER_INT_H */
