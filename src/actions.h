/*-------------------------------------------------------------------------
 *
 * actions.h
 *	  The built-in actions and the call into user actions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_ACTIONS_H
#define FC_ACTIONS_H

#include "utils/jsonb.h"

/*
 * Validate an action's config when it is saved: for a built-in action, its
 * keys, their types and the syntax of its expressions; for a user action,
 * only that it is an object.  Errors name the key.
 */
extern void fc_actions_validate_config(const char *action, bool builtin, Jsonb *config);

#endif							/* FC_ACTIONS_H */
