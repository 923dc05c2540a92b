/*-------------------------------------------------------------------------
 *
 * definition.h
 *	  Registries and the validation of saved definitions.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_DEFINITION_H
#define FC_DEFINITION_H

/* Trigger-name registry; the caller is connected to SPI. */
extern bool fc_registry_trigger_exists(const char *name);
extern void fc_registry_add_trigger(const char *name, Oid object_table,
									const char *label, const char *description,
									Oid owner);

/*
 * A column of the row a trigger on a definition table is saving (by name;
 * *isnull set).  For the C triggers of definition.c and trigger_acl.c.
 */
struct TriggerData;
extern Datum fc_definition_column(struct TriggerData *td, HeapTuple tuple,
								  const char *name, bool *isnull);

#endif							/* FC_DEFINITION_H */
