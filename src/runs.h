/*-------------------------------------------------------------------------
 *
 * runs.h
 *	  The run row: conversion, lock, read, write, count, insert (runs.c).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_RUNS_H
#define FC_RUNS_H

#include "access/htup.h"
#include "storage/itemptr.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "catalog.h"

/* A flow_run row.  Reference ids use 0 for NULL (identities start at 1). */
typedef struct FcRun
{
	int64		id;
	int64		flow_id;
	int64		parent_run_id;
	int64		trigger_id;
	int64		waiting_trigger_id;
	bool		waiting_trigger_match_object;
	int64		action_id;
	bool		repeat_action;
	FcRunStatus status;
	FcRunOutcome outcome;
	char	   *log;
	TimestampTz created_at;
	bool		has_continue_after;
	TimestampTz continue_after;
	bool		has_done_at;
	TimestampTz done_at;
	Oid			object_table;	/* InvalidOid: no object */
	char	   *object_id;
	Jsonb	   *state;
	int32		attempt;		/* failures of the current action so far */
	int32		flow_version;	/* 0: NULL, not pinned yet */
} FcRun;

/* Column numbers of flowcontrol.flow_run (its CREATE TABLE order). */
#define Anum_fc_run_id							1
#define Anum_fc_run_flow_id						2
#define Anum_fc_run_parent_run_id				3
#define Anum_fc_run_trigger_id					4
#define Anum_fc_run_waiting_trigger_id			5
#define Anum_fc_run_waiting_trigger_match_object 6
#define Anum_fc_run_action_id					7
#define Anum_fc_run_repeat_action				8
#define Anum_fc_run_status						9
#define Anum_fc_run_outcome						10
#define Anum_fc_run_log							11
#define Anum_fc_run_created_at					12
#define Anum_fc_run_continue_after				13
#define Anum_fc_run_done_at						14
#define Anum_fc_run_object_table				15
#define Anum_fc_run_object_id					16
#define Anum_fc_run_state						17
#define Anum_fc_run_attempt						18
#define Anum_fc_run_flow_version				19
#define Natts_fc_run							19

/* Conversions; results in CurrentMemoryContext. */
extern void fc_run_to_values(const FcRun *run, Datum *values, bool *nulls);
extern FcRun *fc_run_from_tuple(HeapTuple tuple, TupleDesc tupdesc);
extern Datum fc_run_to_datum(const FcRun *run);
extern FcRun *fc_run_from_datum(Datum composite);
extern FcRun *fc_run_copy(const FcRun *run);

/*
 * Read a run, locking it (FOR NO KEY UPDATE).  With skip_locked, returns
 * NULL if another transaction holds the lock; otherwise waits.  Returns
 * NULL if the run does not exist.  Caller is connected to SPI.
 */
extern FcRun *fc_catalog_lock_run(int64 run_id, bool skip_locked);

/* Read a run without locking it (NULL if it does not exist). */
extern FcRun *fc_catalog_read_run(int64 run_id);

/*
 * Lock run_id's row FOR NO KEY UPDATE without waiting, starting from the
 * version at *tid (which the caller read with its snapshot) and following
 * its updates to the newest, as SELECT ... FOR NO KEY UPDATE SKIP LOCKED
 * does; direct heap access, for continue_flowruns()'s per-run claim.
 * Returns the locked version, palloc'd in the current memory context, or
 * NULL when another transaction holds or is changing the row, or it is
 * gone.  The caller rechecks whatever it chose the row for.  The lock
 * belongs to the current (sub)transaction.
 */
extern FcRun *fc_catalog_try_lock_run(int64 run_id, ItemPointer tid);

/*
 * Can a run's row be written without firing triggers of anyone's but
 * flowcontrol's (its foreign keys')?  Then writing it cannot fail but for
 * lack of resources.
 */
extern bool fc_catalog_run_writes_plain(void);
extern void *fc_catalog_insert_scope_begin(void **slot, MemoryContext cxt);
extern void fc_catalog_insert_scope_end(void *prev);

/* Write the mutable columns of a run back. */
extern void fc_catalog_write_run(const FcRun *run);

/*
 * How many runs a flow has (for one object when object_id is given; only
 * runs not done when not_done), counting up to limit.
 */
extern int64 fc_catalog_count_runs(int64 flow_id, Oid object_table, const char *object_id,
								   bool not_done, int64 limit);

/*
 * Insert a new pending run on the flow's current version (claimed with
 * fc_catalog_claim_version(); version_hint is the version the caller
 * believes current); returns it as stored.  Without user triggers
 * on flow_run the row is inserted directly (heap and indexes), with the
 * rows it references locked as its foreign keys would; the new row is
 * visible to the next command (fc_catalog_exec makes one).
 */
extern FcRun *fc_catalog_insert_run(int64 flow_id, Oid object_table, const char *object_id,
									Jsonb *state, int64 parent_run_id, int64 trigger_id,
									int32 version_hint);

#endif							/* FC_RUNS_H */
