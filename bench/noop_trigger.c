/*
 * noop_trigger.c: a trigger function that does nothing, for bench/run
 * triggers -- the floor of any AFTER ... FOR EACH ROW trigger, against
 * which fire() with no active flow is compared.  Not part of flowcontrol.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bench_noop_trigger);

Datum
bench_noop_trigger(PG_FUNCTION_ARGS)
{
	return PointerGetDatum(NULL);
}
