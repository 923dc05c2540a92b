/*-------------------------------------------------------------------------
 *
 * worker_int.h
 *	  Shared memory of the background launcher and workers (worker.c and
 *	  launcher.c only).
 *
 * Locking rules are those of worker.c's header comment: one LWLock
 * protects every field below.
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

extern FcWorkerShared *fc_shared;
extern FcWorkerSlot *fc_my_slot;

/* worker.c */
extern bool fc_worker_slot_claim(FcWorkerSlot *slot);
extern FcDatabaseSlot *fc_worker_db_slot(Oid dboid);
extern bool fc_worker_db_register(Oid dboid, TimestampTz due_at, bool bump);
extern void fc_worker_fill_bgw(BackgroundWorker *bgw, const char *function,
							   const char *type);
extern FcDatabaseMode fc_worker_database_mode(const char *value);
extern bool fc_worker_database_listed(const char *datname);

/* launcher.c */
extern void fc_launcher_main_loop(void);

#endif							/* FC_WORKER_INT_H */
