/*-------------------------------------------------------------------------
 *
 * definition.h
 *	  The validation of saved definitions (definition.c), which the
 *	  registries (registry.c) use too.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_DEFINITION_H
#define FC_DEFINITION_H

#include "utils/jsonb.h"

/* Is name a registered trigger name?  The caller is connected to SPI. */
extern bool fc_definition_trigger_registered(const char *name);

/*
 * Check a condition being saved, as validate_expression() checks it; what
 * says what it is the condition of ("of flow \"x\"").  ERROR if invalid.
 */
extern void fc_definition_check_expression(const char *source, const char *what);

/*
 * Check an action being saved at where ("action 7 of flow 3"): registered,
 * and a valid config (when not NULL).  ERROR otherwise; may connect to SPI.
 */
extern void fc_definition_check_action(const char *action, Jsonb *config,
									   const char *where);

#endif							/* FC_DEFINITION_H */
