/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The flowcontrol launcher: starts the workers, and in the pool decides
 *	  which database each worker serves.
 *
 * The launcher connects to no database; it reads the shared catalogs
 * (pg_database, pg_authid) in short transactions of its own.
 *
 * With one database named in flowcontrol.database, it starts
 * flowcontrol.max_workers workers there once the database and
 * flowcontrol.role exist, and restarts a worker that exits (after a delay
 * that grows while workers keep failing at start).  The workers stay.
 *
 * With '*' or a list of names, the workers are a pool.  A worker serves one
 * database for as long as it lives (PostgreSQL cannot switch a backend's
 * database), so the launcher decides where to start one:
 *
 * - Which databases: at each pass it scans pg_database for the databases
 *   flowcontrol.database names (for '*', every database that allows
 *   connections and is not a template).  One it has not seen before gets a
 *   slot in shared memory with work due now, so that a worker visits it
 *   once; that worker forgets the database again if the extension is not
 *   installed there.  Later, CREATE EXTENSION registers its database when
 *   it commits (wakeup.c), and wakes the launcher.
 * - Where work is: a database's slot holds due_at, the earliest time work
 *   is known due there while no worker serves it.  Committing backends
 *   record it ("runs became runnable") and wake the launcher; a worker
 *   leaving records its next continue_after.
 * - Which goes first: databases waiting for a worker are served in order of
 *   due_at, the longest waiting first.  A free place in the pool is used at
 *   once; otherwise the launcher asks a worker to leave between two units
 *   (FcWorkerSlot.leave): an idle one first, then one of a database that
 *   has several, then one that has served its database for FC_TURN_MS.
 *   A database whose workers find a backlog (FcDatabaseSlot.backlog) gets
 *   more workers from the free places only.
 * - A worker that fails soon after its start delays the next start in its
 *   database (1, 2, 4 ... 60 s), never in the others.
 *
 * Locks: the launcher copies what it needs from shared memory under the
 * shared lock, decides without it, and writes its decisions (a worker's
 * database before its start, a leave request) under the exclusive lock;
 * SetLatch() after releasing it.  A decision that a concurrent change made
 * stale is corrected at the next pass: every change that matters sets the
 * launcher's latch (a commit noting due work, a worker's exit through
 * bgw_notify_pid, CREATE DATABASE, CREATE ROLE, CREATE EXTENSION).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "worker.h"
#include "worker_int.h"
#include "worker_shmem.h"

/* The launcher's own view of a worker place. */
typedef struct FcLauncherSlot
{
	BackgroundWorkerHandle *handle;
	Oid			database;		/* the database it was started for */
	TimestampTz started;		/* when we last started it */
	int			failures;		/* one database: consecutive short lives */
	TimestampTz not_before;		/* one database: restart delay */
} FcLauncherSlot;

/* The pool: a database flowcontrol.database names, as last scanned. */
typedef struct FcLauncherDb
{
	Oid			oid;
	int			failures;		/* consecutive short-lived workers */
	TimestampTz not_before;		/* restart delay */
} FcLauncherDb;

static FcLauncherDb *known_dbs = NULL;
static int	n_known_dbs = 0;

static void
launcher_set_state(FcWorkerState state, bool log_change, const char *detail)
{
	FcWorkerState old;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	Assert(fc_my_slot->pid == MyProcPid);
	old = fc_my_slot->state;
	fc_my_slot->state = state;
	LWLockRelease(fc_shared->lock);
	if (old != state && log_change)
		ereport(LOG,
				(errmsg("flowcontrol launcher: %s", detail)));
}

/*
 * The OID of the role with that name, or InvalidOid.  Connected to no
 * database, the launcher cannot use the catalog indexes (nor the
 * syscache); like the autovacuum launcher it scans the shared catalog.
 * Caller is in a transaction.
 */
static Oid
role_lookup(const char *name)
{
	Relation	rel = table_open(AuthIdRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, NULL);
	HeapTuple	tup;
	Oid			result = InvalidOid;

	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_authid role = (Form_pg_authid) GETSTRUCT(tup);

		if (strcmp(NameStr(role->rolname), name) == 0)
		{
			result = role->oid;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * The databases to serve: with one name, that database (any, as before the
 * pool); with a list, those it names that allow connections; with '*',
 * every database that allows connections and is not a template.  Returns
 * how many, their OIDs in *oids (palloc'd); *found_names counts the
 * listed names that exist.  Caller is in a transaction.
 */
static int
databases_to_serve(Oid **oids, int *found_names)
{
	Relation	rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, NULL);
	HeapTuple	tup;
	int			n = 0;
	int			size = 16;

	*oids = palloc(sizeof(Oid) * size);
	*found_names = 0;
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (!fc_worker_database_listed(NameStr(db->datname)))
			continue;
		(*found_names)++;
		if (fc_shared->mode != FC_DB_ONE &&
			(!db->datallowconn || (db->datistemplate && fc_shared->mode == FC_DB_ALL)))
			continue;
		if (n == size)
		{
			size *= 2;
			*oids = repalloc(*oids, sizeof(Oid) * size);
		}
		(*oids)[n++] = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return n;
}

/*
 * Start a worker in place i for database dboid; false when no background
 * worker slot is free (max_worker_processes) or the database is being
 * dropped.
 */
static bool
launcher_start_worker(FcLauncherSlot *ls, int i, Oid dboid)
{
	BackgroundWorker bgw;
	MemoryContext oldcxt;
	bool		dropping;
	bool		registered;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	Assert(fc_shared->workers[i].pid == 0);
	dropping = fc_shared->dropping_database == dboid;
	if (!dropping)
	{
		/* what the last process in this place left is for launcher_reap */
		fc_shared->workers[i].database = dboid;
		fc_shared->workers[i].leave = false;
		fc_shared->workers[i].clean_exit = false;
	}
	LWLockRelease(fc_shared->lock);
	if (dropping)
		return true;

	fc_worker_fill_bgw(&bgw, "fc_worker_main", "flowcontrol worker");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "flowcontrol worker %d", i + 1);
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	bgw.bgw_main_arg = Int32GetDatum(i);
	bgw.bgw_notify_pid = MyProcPid;

	/*
	 * The handle is palloc'd in the current context, and the launcher's pass
	 * runs in a context reset after each pass: keep it in TopMemoryContext,
	 * where it lives until launcher_reap frees it.  (Left in the pass's
	 * context, its memory was reused by the next pass, and
	 * GetBackgroundWorkerPid() read another worker's or no slot: running
	 * workers were taken for stopped, and for failing.)
	 */
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	registered = RegisterDynamicBackgroundWorker(&bgw, &ls->handle);
	MemoryContextSwitchTo(oldcxt);
	if (!registered)
	{
		ls->handle = NULL;
		return false;
	}
	ls->database = dboid;
	ls->started = GetCurrentTimestamp();
	elog(DEBUG1, "flowcontrol launcher: started a worker in place %d for database %u",
		 i + 1, dboid);
	return true;
}

static FcLauncherDb *
known_db(Oid dboid)
{
	int			i;

	for (i = 0; i < n_known_dbs; i++)
		if (known_dbs[i].oid == dboid)
			return &known_dbs[i];
	return NULL;
}

/* The restart delay after failures in a row. */
static TimestampTz
restart_delay(TimestampTz now, int failures)
{
	if (failures == 0)
		return 0;
	return TimestampTzPlusMilliseconds(now,
									   Min(FC_RESTART_DELAY_MS << Min(failures - 1, 6),
										   FC_RESTART_DELAY_MAX_MS));
}

/*
 * Forget the workers that stopped.  One that exited sooner than
 * FC_WORKER_MIN_LIFE_MS after its start, not of its own accord and not for
 * DROP DATABASE, counts as failing: the next start (in that place with one
 * database, in that database in the pool) waits.
 */
static void
launcher_reap(FcLauncherSlot *slots, TimestampTz now)
{
	Oid			dropping;
	int			i;

	LWLockAcquire(fc_shared->lock, LW_SHARED);
	dropping = fc_shared->dropping_database;
	LWLockRelease(fc_shared->lock);

	for (i = 0; i < fc_shared->nworkers; i++)
	{
		FcLauncherSlot *ls = &slots[i];
		FcLauncherDb *kd;
		pid_t		pid;
		bool		clean;
		bool		failed;

		if (ls->handle == NULL ||
			GetBackgroundWorkerPid(ls->handle, &pid) != BGWH_STOPPED)
			continue;
		pfree(ls->handle);
		ls->handle = NULL;
		elog(DEBUG1, "flowcontrol launcher: the worker in place %d stopped", i + 1);
		LWLockAcquire(fc_shared->lock, LW_SHARED);
		clean = fc_shared->workers[i].clean_exit;
		LWLockRelease(fc_shared->lock);
		failed = !clean && !OidIsValid(dropping) &&
			!TimestampDifferenceExceeds(ls->started, now, FC_WORKER_MIN_LIFE_MS);
		if (failed)
		{
			LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
			fc_my_slot->errors++;
			LWLockRelease(fc_shared->lock);
		}
		if (fc_shared->mode == FC_DB_ONE)
		{
			ls->failures = failed ? ls->failures + 1 : 0;
			ls->not_before = restart_delay(now, ls->failures);
		}
		else if ((kd = known_db(ls->database)) != NULL)
		{
			kd->failures = failed ? kd->failures + 1 : 0;
			kd->not_before = restart_delay(now, kd->failures);
		}
	}
}

/* Whether place i is free: no process, none being started. */
static bool
place_free(FcLauncherSlot *slots, int i)
{
	bool		taken;

	if (slots[i].handle != NULL)
		return false;
	/* a worker left over from before a launcher restart keeps its place */
	LWLockAcquire(fc_shared->lock, LW_SHARED);
	taken = fc_shared->workers[i].pid != 0;
	LWLockRelease(fc_shared->lock);
	return !taken;
}

/*
 * Look up the role (flowcontrol.role) and publish its OID for the workers;
 * false, with the launcher's state set, while it does not exist.
 */
static bool
role_ready(Oid role)
{
	if (fc_role[0] != '\0' && !OidIsValid(role))
	{
		launcher_set_state(FC_WS_NO_ROLE, true,
						   psprintf("role \"%s\" does not exist; waiting for it to be created",
									fc_role));
		return false;
	}
	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	fc_shared->role = role;
	LWLockRelease(fc_shared->lock);
	return true;
}

/*
 * One database: start the missing workers there, once the database and the
 * role exist.  Returns how long to sleep (ms).
 */
static long
pass_one_database(FcLauncherSlot *slots, TimestampTz now)
{
	long		sleep_ms = fc_poll_interval;
	bool		need = false;
	Oid			dropping;
	Oid		   *oids;
	int			found;
	Oid			dboid;
	Oid			role = InvalidOid;
	int			i;

	LWLockAcquire(fc_shared->lock, LW_SHARED);
	dropping = fc_shared->dropping_database;
	LWLockRelease(fc_shared->lock);
	for (i = 0; i < fc_shared->nworkers; i++)
		if (place_free(slots, i))
			need = true;
	if (OidIsValid(dropping))
	{
		launcher_set_state(FC_WS_DROP_DATABASE, false, NULL);
		return sleep_ms;
	}
	if (!need)
	{
		launcher_set_state(FC_WS_IDLE, false, NULL);
		return sleep_ms;
	}

	StartTransactionCommand();
	dboid = databases_to_serve(&oids, &found) > 0 ? oids[0] : InvalidOid;
	if (fc_role[0] != '\0')
		role = role_lookup(fc_role);
	CommitTransactionCommand();
	if (!OidIsValid(dboid))
	{
		launcher_set_state(FC_WS_NO_DATABASE, true,
						   psprintf("database \"%s\" does not exist; waiting for it to be created",
									fc_database));
		return sleep_ms;
	}
	if (!role_ready(role))
		return sleep_ms;

	for (i = 0; i < fc_shared->nworkers; i++)
	{
		FcLauncherSlot *ls = &slots[i];

		if (!place_free(slots, i))
			continue;
		if (ls->not_before > now)
		{
			sleep_ms = Min(sleep_ms, (long) ((ls->not_before - now + 999) / 1000));
			continue;
		}
		if (!launcher_start_worker(ls, i, dboid))
		{
			launcher_set_state(FC_WS_NO_BGW_SLOT, true,
							   "could not start a worker: no background worker slot free; consider increasing max_worker_processes");
			return sleep_ms;
		}
	}
	launcher_set_state(FC_WS_IDLE, false, NULL);
	return sleep_ms;
}

/*
 * The pool: rescan the databases to serve, keeping the restart delays of
 * those still there; register the new ones in shared memory with work due
 * now (a first visit).  Returns whether any listed database exists.
 */
static bool
pool_rescan(TimestampTz now, Oid role_oid_out[1])
{
	static bool logged_full = false;
	FcLauncherDb *fresh;
	Oid		   *oids;
	int			found;
	int			n;
	int			i;

	StartTransactionCommand();
	n = databases_to_serve(&oids, &found);
	role_oid_out[0] = fc_role[0] != '\0' ? role_lookup(fc_role) : InvalidOid;
	CommitTransactionCommand();

	fresh = MemoryContextAllocZero(TopMemoryContext, sizeof(FcLauncherDb) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		FcLauncherDb *old = known_db(oids[i]);

		if (old != NULL)
			fresh[i] = *old;
		else
		{
			fresh[i].oid = oids[i];
			if (!fc_worker_db_register(oids[i], now, false) && !logged_full)
			{
				ereport(LOG,
						(errmsg("flowcontrol launcher: more than %d databases to look at; the workers serve the first ones only",
								FC_MAX_DATABASES)));
				logged_full = true;
			}
		}
	}
	if (known_dbs != NULL)
		pfree(known_dbs);
	known_dbs = fresh;
	n_known_dbs = n;
	return found > 0;
}

/* What the pool's launcher copies from shared memory for one pass. */
typedef struct FcPoolView
{
	int			nworkers;
	FcWorkerSlot workers[FC_MAX_WORKERS];
	bool		busy[FC_MAX_WORKERS];	/* a process, or one being started */
	FcDatabaseSlot databases[FC_MAX_DATABASES];
	int			leaving;		/* workers asked to leave, still there */
} FcPoolView;

static void
pool_view(FcLauncherSlot *slots, FcPoolView *v)
{
	int			i;

	v->nworkers = fc_shared->nworkers;
	LWLockAcquire(fc_shared->lock, LW_SHARED);
	memcpy(v->workers, fc_shared->workers, sizeof(FcWorkerSlot) * v->nworkers);
	memcpy(v->databases, fc_shared->databases, sizeof(v->databases));
	LWLockRelease(fc_shared->lock);
	v->leaving = 0;
	for (i = 0; i < v->nworkers; i++)
	{
		v->busy[i] = slots[i].handle != NULL || v->workers[i].pid != 0;
		if (v->busy[i] && v->workers[i].pid == 0)
		{
			/* being started, or gone and not reaped yet: serves its database */
			v->workers[i].database = slots[i].database;
			v->workers[i].leave = false;
		}
		if (v->busy[i] && v->workers[i].leave)
			v->leaving++;
	}
}

/* Workers serving dboid that were not asked to leave. */
static int
workers_of(FcPoolView *v, Oid dboid)
{
	int			n = 0;
	int			i;

	for (i = 0; i < v->nworkers; i++)
		if (v->busy[i] && !v->workers[i].leave && v->workers[i].database == dboid)
			n++;
	return n;
}

/*
 * The worker to ask to leave for a database that waits: an idle one first,
 * then one of a database that has several, then the one that has served
 * its database longest, if for FC_TURN_MS; of these ranks (1 to 3) none
 * above max_rank.  -1 if none; *turn_end is then when the first turn ends.
 */
static int
pool_victim(FcPoolView *v, TimestampTz now, int max_rank, TimestampTz *turn_end)
{
	int			best = -1;
	int			rank = max_rank + 1;
	int			i;

	*turn_end = DT_NOEND;
	for (i = 0; i < v->nworkers; i++)
	{
		FcWorkerSlot *w = &v->workers[i];
		int			r;

		if (!v->busy[i] || w->leave)
			continue;
		/* being started: its turn begins when it runs */
		if (w->pid == 0)
		{
			*turn_end = Min(*turn_end, TimestampTzPlusMilliseconds(now, FC_TURN_MS));
			continue;
		}
		if ((w->state == FC_WS_IDLE && w->next_wakeup > now) ||
			w->state == FC_WS_NO_EXTENSION)
			r = 1;
		else if (workers_of(v, w->database) > 1)
			r = 2;
		else if (TimestampDifferenceExceeds(w->started_at, now, FC_TURN_MS))
			r = 3;
		else
		{
			*turn_end = Min(*turn_end,
							TimestampTzPlusMilliseconds(w->started_at, FC_TURN_MS));
			continue;
		}
		if (r < rank || (r == rank && w->started_at < v->workers[best].started_at))
		{
			best = i;
			rank = r;
		}
	}
	return best;
}

/* Ask worker i to leave between two units. */
static void
ask_to_leave(FcPoolView *v, int i)
{
	Latch	   *latch = NULL;

	LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
	if (fc_shared->workers[i].pid == v->workers[i].pid)
	{
		fc_shared->workers[i].leave = true;
		latch = fc_shared->workers[i].latch;
	}
	LWLockRelease(fc_shared->lock);
	v->workers[i].leave = true;
	v->leaving++;
	elog(DEBUG1, "flowcontrol launcher: asked the worker in place %d to leave", i + 1);
	if (latch != NULL)
		SetLatch(latch);
}

/* Whether the pool may start a worker in that database now. */
static bool
pool_may_start(Oid dboid, Oid dropping, TimestampTz now, long *sleep_ms)
{
	FcLauncherDb *kd = known_db(dboid);

	if (kd == NULL || dboid == dropping)
		return false;
	if (kd->not_before > now)
	{
		*sleep_ms = Min(*sleep_ms, (long) ((kd->not_before - now + 999) / 1000));
		return false;
	}
	return true;
}

/* Order of the databases waiting for a worker: longest waiting first. */
static int
due_cmp(const void *a, const void *b)
{
	const FcDatabaseSlot *x = a;
	const FcDatabaseSlot *y = b;

	if (x->due_at != y->due_at)
		return x->due_at < y->due_at ? -1 : 1;
	return 0;
}

/* The first free place, or -1. */
static int
free_place(FcLauncherSlot *slots, FcPoolView *v)
{
	int			i;

	for (i = 0; i < v->nworkers; i++)
		if (!v->busy[i] && place_free(slots, i))
			return i;
	return -1;
}

static bool
start_in_place(FcLauncherSlot *slots, FcPoolView *v, int i, Oid dboid)
{
	if (!launcher_start_worker(&slots[i], i, dboid))
	{
		launcher_set_state(FC_WS_NO_BGW_SLOT, true,
						   "could not start a worker: no background worker slot free; consider increasing max_worker_processes");
		return false;
	}
	v->busy[i] = true;
	v->workers[i].database = dboid;
	v->workers[i].leave = false;
	return true;
}

/*
 * The pool's decisions: start workers for the databases that have due work
 * and none, longest waiting first, in free places or in places a worker is
 * asked to leave; then more workers for backlogs, in free places only.
 * Returns how long to sleep (ms).
 */
static long
pool_assign(FcLauncherSlot *slots, TimestampTz now, Oid dropping)
{
	FcPoolView *v = palloc(sizeof(FcPoolView));
	FcDatabaseSlot *waiting = palloc(sizeof(FcDatabaseSlot) * FC_MAX_DATABASES);
	long		sleep_ms = fc_poll_interval;
	int			nwaiting = 0;
	int			covered;
	int			i;

	pool_view(slots, v);
	for (i = 0; i < FC_MAX_DATABASES; i++)
	{
		FcDatabaseSlot *d = &v->databases[i];

		if (!OidIsValid(d->dboid) || workers_of(v, d->dboid) > 0 ||
			!pool_may_start(d->dboid, dropping, now, &sleep_ms))
			continue;
		if (d->due_at <= now)
			waiting[nwaiting++] = *d;
		else if (d->due_at != DT_NOEND)
			sleep_ms = Min(sleep_ms, (long) ((d->due_at - now + 999) / 1000));
	}
	qsort(waiting, nwaiting, sizeof(FcDatabaseSlot), due_cmp);

	/* the workers already leaving make room for the first ones */
	covered = v->leaving;
	for (i = 0; i < nwaiting; i++)
	{
		int			place = free_place(slots, v);
		TimestampTz turn_end;
		int			victim;

		if (place >= 0)
		{
			if (!start_in_place(slots, v, place, waiting[i].dboid))
				return sleep_ms;
			continue;
		}
		if (covered > 0)
		{
			covered--;
			continue;
		}
		victim = pool_victim(v, now, 3, &turn_end);
		if (victim < 0)
		{
			if (turn_end != DT_NOEND)
				sleep_ms = Min(sleep_ms, (long) ((turn_end - now + 999) / 1000));
			break;
		}
		ask_to_leave(v, victim);
	}

	for (i = 0; i < FC_MAX_DATABASES; i++)
	{
		FcDatabaseSlot *d = &v->databases[i];
		int			place;

		if (!OidIsValid(d->dboid) || !d->backlog || workers_of(v, d->dboid) == 0 ||
			!pool_may_start(d->dboid, dropping, now, &sleep_ms))
			continue;
		if ((place = free_place(slots, v)) < 0)
		{
			TimestampTz turn_end;
			int			victim;

			/* an idle worker elsewhere makes room; its exit wakes us */
			if (v->leaving == 0 &&
				(victim = pool_victim(v, now, 1, &turn_end)) >= 0)
			{
				ask_to_leave(v, victim);
			}
			break;
		}
		if (!start_in_place(slots, v, place, d->dboid))
			break;
	}

	return sleep_ms;
}

/*
 * The pool: rescan the databases, then assign workers.  Returns how long
 * to sleep (ms).
 */
static long
pass_pool(FcLauncherSlot *slots, TimestampTz now)
{
	Oid			dropping;
	Oid			role[1];
	bool		any;

	any = pool_rescan(now, role);
	if (!role_ready(role[0]))
		return fc_poll_interval;
	if (!any && fc_shared->mode == FC_DB_LIST)
	{
		launcher_set_state(FC_WS_NO_DATABASE, true,
						   psprintf("none of the databases \"%s\" exists; waiting for one to be created",
									fc_database));
		return fc_poll_interval;
	}
	LWLockAcquire(fc_shared->lock, LW_SHARED);
	dropping = fc_shared->dropping_database;
	LWLockRelease(fc_shared->lock);
	if (!fc_enabled)
	{
		launcher_set_state(FC_WS_DISABLED, false, NULL);
		return fc_poll_interval;
	}
	launcher_set_state(OidIsValid(dropping) ? FC_WS_DROP_DATABASE : FC_WS_IDLE,
					   false, NULL);
	return pool_assign(slots, now, dropping);
}

void
fc_worker_launcher_main(Datum main_arg)
{
	FcLauncherSlot *slots;
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (fc_shared == NULL || !fc_worker_slot_claim(&fc_shared->launcher))
		proc_exit(0);

	/* shared catalogs only: pg_database and pg_authid */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	slots = MemoryContextAllocZero(TopMemoryContext,
								   sizeof(FcLauncherSlot) * fc_shared->nworkers);
	loop_cxt = AllocSetContextCreate(TopMemoryContext,
									 "flowcontrol launcher loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		long		sleep_ms;
		TimestampTz now;
		TimestampTz next;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		now = GetCurrentTimestamp();
		/* while it looks, any commit that notes due work must wake it */
		LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
		Assert(fc_my_slot->pid == MyProcPid);
		fc_my_slot->last_wakeup = now;
		fc_my_slot->next_wakeup = DT_NOEND;
		LWLockRelease(fc_shared->lock);

		MemoryContextSwitchTo(loop_cxt);
		launcher_reap(slots, now);
		if (fc_shared->mode == FC_DB_ONE)
			sleep_ms = pass_one_database(slots, now);
		else
			sleep_ms = pass_pool(slots, now);
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(loop_cxt);

		next = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), sleep_ms);
		LWLockAcquire(fc_shared->lock, LW_EXCLUSIVE);
		fc_my_slot->next_wakeup = Min(next, fc_my_slot->next_wakeup);
		LWLockRelease(fc_shared->lock);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
