/*-------------------------------------------------------------------------
 *
 * objects.h
 *	  Object tables: the row a run is attached to, by its primary key
 *	  (objects.c).
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_OBJECTS_H
#define FC_OBJECTS_H

#include "access/attnum.h"
#include "utils/jsonb.h"

/*
 * The object row as jsonb (to_jsonb of the row), fetched as the current
 * user; NULL if the row does not exist.  Caller is connected to SPI.
 */
extern Jsonb *fc_catalog_fetch_object(Oid table, const char *object_id);

/*
 * Lock the object row FOR NO KEY UPDATE, as the current user; false if
 * there is no such row visible to the user, or the user could not lock it
 * (needs SELECT and UPDATE on the table).  Caller is connected to SPI.
 */
extern bool fc_catalog_lock_object(Oid table, const char *object_id);

/* The object's key column: raises an error unless the table has a single-column primary key. */
extern AttrNumber fc_catalog_object_key(Oid table, Oid *keytype);

#endif							/* FC_OBJECTS_H */
