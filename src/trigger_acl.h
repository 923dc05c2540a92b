/*-------------------------------------------------------------------------
 *
 * trigger_acl.h
 *	  Trigger-name ownership: who may fire, bind to and wait for a name,
 *	  and which trigger ids a role may name.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_TRIGGER_ACL_H
#define FC_TRIGGER_ACL_H

#include "commands/trigger.h"
#include "utils/jsonb.h"

#include "flowcache.h"

/*
 * Is role admitted to the name (a member of its owner, or of a role it was
 * granted to)?  Admitted roles' flows may bind to the name and wait for it.
 * No catalog access beyond role membership; no error.
 */
extern bool fc_trigger_admits(const FcTriggerList *list, Oid role);

/* May role fire the name (is it a member of the name's owner)?  No error. */
extern bool fc_trigger_may_fire(const FcTriggerList *list, Oid role);

/*
 * Error "trigger N does not exist" (UNDEFINED_OBJECT) unless the trigger
 * exists and the current user may see it.  Connects to SPI itself.
 */
extern void fc_trigger_check_visible(int64 trigger_id);

/*
 * A run of a flow owned by flow_owner is to wait for the trigger: error
 * "does not exist" unless flow_owner may see it, INSUFFICIENT_PRIVILEGE
 * unless flow_owner is admitted to its name.  Returns its create_flow.
 * Connects to SPI itself.
 */
extern bool fc_trigger_check_wait(int64 trigger_id, Oid flow_owner);

/*
 * BEFORE INSERT OR UPDATE on flowcontrol.flow_action of a
 * WaitForTriggerAction with this config in flow flow_id: where the trigger
 * is visible to both the current user and the flow's owner, the owner must
 * be admitted to its name (others are checked when the run waits).  Not
 * checked for superusers, nor for an UPDATE that keeps trigger and flow.
 * Connects to SPI itself.
 */
extern void fc_trigger_check_wait_config(TriggerData *td, int64 flow_id, Jsonb *config);

/*
 * BEFORE INSERT OR UPDATE on flowcontrol.trigger: the acting role, the
 * row's owner and its flow's owner must be admitted to the name (not
 * checked for superusers, nor for an UPDATE that keeps name, flow and
 * owner).  The caller has checked that the name is registered.
 */
extern void fc_trigger_check_binding(TriggerData *td, HeapTuple tuple, const char *name);

#endif							/* FC_TRIGGER_ACL_H */
