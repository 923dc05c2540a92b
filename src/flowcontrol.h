/*-------------------------------------------------------------------------
 *
 * flowcontrol.h
 *	  Formerly the module-wide settings and the engine's clock, which are
 *	  now declared in clock.h.
 *
 * Kept only for the files that still include it (catalog.c, being split
 * meanwhile); new code includes clock.h.  Remove this header once nothing
 * includes it: a file including it depends on flowcontrol.c, the top of
 * the module, in tools/include-graph's view.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_FLOWCONTROL_H
#define FC_FLOWCONTROL_H

#include "clock.h"

#endif							/* FC_FLOWCONTROL_H */
