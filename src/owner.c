/*-------------------------------------------------------------------------
 *
 * owner.c
 *	  Running a hook as in a fresh session of the flow's owner.
 *
 * Everything flowcontrol runs on behalf of a flow -- object reads, flow
 * conditions, actions, return hooks, registered filters -- is a "hook" of
 * the flow's owner.  A hook must neither see what the caller's session or
 * another owner's hook set up (settings such as search_path, which decide
 * what an unqualified name means) nor leave anything behind for them.  So
 * each hook call runs between fc_owner_enter() and fc_owner_leave():
 *
 * - in a GUC nest level of its own, in which every setting the session
 *   SET is reset (RESET ALL), the settings that change what SQL means
 *   (search_path and a few more, pinned_settings below) are PostgreSQL's
 *   defaults, and the owner's settings apply: ALTER DATABASE ...
 *   SET, then ALTER ROLE owner SET, then ALTER ROLE owner IN DATABASE ...
 *   SET, as at the start of a session of the owner.  Leaving rolls back
 *   every setting changed in that level, whatever the hook SET;
 * - as the owner, with SECURITY_RESTRICTED_OPERATION, which refuses what
 *   would outlive the call in the session: temporary objects, SET ROLE,
 *   SET SESSION AUTHORIZATION, LISTEN, cursors WITH HOLD, PREPARE.
 *
 * RESET ALL returns to the session's defaults, which include what the
 * client passed at connection and the session user's own role settings:
 * the caller's.  A backend cannot tell those apart from postgresql.conf's
 * values, so the pinned settings ignore all three (the role and database
 * settings of the owner do apply); the other settings start from the
 * session's defaults.  The session's client_encoding and flowcontrol's own
 * settings are kept (kept_settings below).
 *
 * No PG_TRY: on error, (sub)transaction abort restores the user, the
 * security context and the GUC nest level.  Every caller that catches
 * errors does so with a subtransaction (fc_engine_guarded).
 *
 * flowcontrol's own C code that runs on an owner's behalf and runs no SQL
 * (the built-in actions, flow and trigger conditions) only becomes the
 * owner (fc_owner_become): setting up a session is for SQL, and what SQL
 * that code reaches -- registered filters, object reads, a row lock, a
 * started flow's hooks -- enters a hook of its own.
 *
 * The owner's settings are read from pg_db_role_setting once per
 * transaction and owner.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_db_role_setting.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "owner.h"

/*
 * Settings that change what SQL means -- which object a name finds, what
 * "= NULL" or a backslash in a literal does, whether row security filters
 * or errors.  RESET ALL brings back the session's defaults, and those may
 * come from the caller (connection options, the caller's own ALTER ROLE
 * SET); so unless the owner's or the database's settings name them, hooks
 * get PostgreSQL's defaults for these.
 */
typedef struct FcPinnedSetting
{
	const char *name;
	const char *value;
} FcPinnedSetting;

static const FcPinnedSetting pinned_settings[] = {
	{"search_path", "\"$user\", public"},
	{"transform_null_equals", "off"},
	{"standard_conforming_strings", "on"},
	{"backslash_quote", "safe_encoding"},
	{"array_nulls", "on"},
	{"row_security", "on"},
	{"plpgsql.variable_conflict", "error"},
};

#define FC_NUM_PINNED lengthof(pinned_settings)

/*
 * Settings of the session that hooks keep: the encoding of the messages
 * they send to the session's client, and flowcontrol's own settings, which
 * say how the engine around the hook behaves in this session (the test
 * clock, which fc_now() applies only to flows of owners the session user
 * belongs to, and the size limits a superuser may set).
 */
static const char *const kept_settings[] = {
	"client_encoding",
	"flowcontrol.time_offset",
	"flowcontrol.max_state_size",
	"flowcontrol.max_log_size",
};

#define FC_NUM_KEPT lengthof(kept_settings)

/* An owner's settings, in the order a new session applies them. */
typedef struct FcOwnerSettings
{
	Oid			owner;
	int			n;
	char	  **names;
	char	  **values;
	bool		sets_pinned[FC_NUM_PINNED]; /* pinned_settings[i] is set */
	int			statement_timeout;	/* ms, -1 until fc_owner_statement_timeout */
} FcOwnerSettings;

/* cache for the current transaction, in TopTransactionContext */
static List *settings_cache = NIL;
static bool xact_callback_registered = false;

static void
settings_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			settings_cache = NIL;
			break;
		default:
			break;
	}
}

/* Append the settings of one pg_db_role_setting row (if any). */
static void
read_settings(Relation rel, Oid databaseid, Oid roleid, FcOwnerSettings *s)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&keys[0], Anum_pg_db_role_setting_setdatabase,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(databaseid));
	ScanKeyInit(&keys[1], Anum_pg_db_role_setting_setrole,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(roleid));
	scan = systable_beginscan(rel, DbRoleSettingDatidRolidIndexId, true,
							  NULL, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_db_role_setting_setconfig,
									 RelationGetDescr(rel), &isnull);
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;
		int			i;

		if (isnull)
			continue;
		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &nelems);
		s->names = s->names ? repalloc(s->names, sizeof(char *) * (s->n + nelems)) :
			palloc(sizeof(char *) * nelems);
		s->values = s->values ? repalloc(s->values, sizeof(char *) * (s->n + nelems)) :
			palloc(sizeof(char *) * nelems);
		for (i = 0; i < nelems; i++)
		{
			char	   *name;
			char	   *value;
			int			j;

			if (nulls[i])
				continue;
			ParseLongOption(TextDatumGetCString(elems[i]), &name, &value);
			if (value == NULL)
				continue;
			/* a hook's identity is the owner; see the file header */
			if (pg_strcasecmp(name, "role") == 0 ||
				pg_strcasecmp(name, "session_authorization") == 0)
				continue;
			for (j = 0; j < FC_NUM_PINNED; j++)
				if (pg_strcasecmp(name, pinned_settings[j].name) == 0)
					s->sets_pinned[j] = true;
			s->names[s->n] = name;
			s->values[s->n] = value;
			s->n++;
		}
	}
	systable_endscan(scan);
}

/*
 * Not ApplySetting(): it applies at the sources of a session's start
 * (PGC_S_DATABASE_USER and below), which lose to what the session SET and
 * would change the session's reset values; a hook applies the owner's
 * settings at PGC_S_SESSION with GUC_ACTION_SAVE, undone at its end.
 */
static FcOwnerSettings *
owner_settings(Oid owner)
{
	ListCell   *lc;
	FcOwnerSettings *s;
	MemoryContext old;
	Relation	rel;

	foreach(lc, settings_cache)
	{
		s = (FcOwnerSettings *) lfirst(lc);
		if (s->owner == owner)
			return s;
	}
	if (!xact_callback_registered)
	{
		RegisterXactCallback(settings_xact_callback, NULL);
		xact_callback_registered = true;
	}

	old = MemoryContextSwitchTo(TopTransactionContext);
	s = palloc0(sizeof(FcOwnerSettings));
	s->owner = owner;
	s->statement_timeout = -1;
	rel = table_open(DbRoleSettingRelationId, AccessShareLock);
	read_settings(rel, MyDatabaseId, InvalidOid, s);
	read_settings(rel, InvalidOid, owner, s);
	read_settings(rel, MyDatabaseId, owner, s);
	table_close(rel, AccessShareLock);
	settings_cache = lappend(settings_cache, s);
	MemoryContextSwitchTo(old);
	return s;
}

static void
set_for_hook(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, WARNING, false);
}

void
fc_owner_enter(FcOwnerEnv *env, Oid owner)
{
	FcOwnerSettings *s = owner_settings(owner);
	char	   *kept[FC_NUM_KEPT];
	int			i;

	GetUserIdAndSecContext(&env->saved_userid, &env->saved_sec_context);
	env->guc_nestlevel = NewGUCNestLevel();

	for (i = 0; i < FC_NUM_KEPT; i++)
	{
		const char *value = GetConfigOption(kept_settings[i], true, false);

		kept[i] = value ? pstrdup(value) : NULL;
	}
	ResetAllOptions();
	for (i = 0; i < FC_NUM_PINNED; i++)
	{
		const char *current;

		if (s->sets_pinned[i])
			continue;
		current = GetConfigOption(pinned_settings[i].name, true, false);
		if (current != NULL && strcmp(current, pinned_settings[i].value) != 0)
			set_for_hook(pinned_settings[i].name, pinned_settings[i].value);
	}
	for (i = 0; i < s->n; i++)
		set_for_hook(s->names[i], s->values[i]);
	for (i = 0; i < FC_NUM_KEPT; i++)
	{
		const char *value = GetConfigOption(kept_settings[i], true, false);

		if (kept[i] != NULL && value != NULL && strcmp(value, kept[i]) != 0)
			set_for_hook(kept_settings[i], kept[i]);
	}

	SetUserIdAndSecContext(owner, env->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

int
fc_owner_statement_timeout(Oid owner)
{
	FcOwnerSettings *s = owner_settings(owner);

	if (s->statement_timeout < 0)
	{
		const char *value = NULL;
		int			ms;
		int			i;

		/* the last one wins, as when a session applies them */
		for (i = 0; i < s->n; i++)
			if (pg_strcasecmp(s->names[i], "statement_timeout") == 0)
				value = s->values[i];
		if (value == NULL)
			value = GetConfigOptionResetString("statement_timeout");
		if (value == NULL || !parse_int(value, &ms, GUC_UNIT_MS, NULL) || ms < 0)
			ms = 0;
		s->statement_timeout = ms;
	}
	return s->statement_timeout;
}

void
fc_owner_become(FcOwnerEnv *env, Oid owner)
{
	GetUserIdAndSecContext(&env->saved_userid, &env->saved_sec_context);
	env->guc_nestlevel = 0;
	SetUserIdAndSecContext(owner, env->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

void
fc_owner_leave(FcOwnerEnv *env)
{
	if (env->guc_nestlevel > 0)
		AtEOXact_GUC(false, env->guc_nestlevel);
	SetUserIdAndSecContext(env->saved_userid, env->saved_sec_context);
}
