/*-------------------------------------------------------------------------
 *
 * flowcontrol.c
 *	  Module entry point: _PG_init.
 *
 * The extension works without shared_preload_libraries; only the
 * background worker needs preloading.  _PG_init therefore defines the
 * settings every session can see and leaves worker registration to
 * fc_worker_register(), which acts only while shared libraries are being
 * preloaded.
 *
 * This file is the top of the module: it calls each subsystem's set-up
 * and nothing calls into it.  The engine's clock, which used to live here,
 * is clock.c.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "catalog.h"
#include "clock.h"
#include "engine.h"
#include "worker.h"
#include "worker_shmem.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;

	fc_clock_define_settings();
	fc_engine_define_settings();
	fc_worker_define_settings();
	fc_catalog_init();
	fc_worker_register();
}
