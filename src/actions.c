/*-------------------------------------------------------------------------
 *
 * actions.c
 *	  (placeholder)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "actions.h"

void
fc_actions_validate_config(const char *action, bool builtin, Jsonb *config)
{
}
