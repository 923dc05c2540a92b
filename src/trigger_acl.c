/*-------------------------------------------------------------------------
 *
 * trigger_acl.c
 *	  Who may fire, bind to and wait for a trigger name, and which ids of
 *	  triggers a role may name.
 *
 * A trigger name belongs to the role that registered it (attach_trigger()
 * registers it for the table's owner).  That role and its members may
 * fire the name; they, and the roles the owner granted it to with
 * grant_trigger() (and their members), are "admitted": their flows may be
 * bound to the name and their runs may wait for it.  Admission is checked
 * when a binding or a wait is saved (a usability check) and again when the
 * name fires (the check that matters: triggers.c skips the bindings and
 * waiting runs of roles that are not admitted, so revoke_trigger() takes
 * effect at once and a binding can never make the name owner's writes run
 * or fail on a stranger's code).
 *
 * Ids of other roles' triggers are treated exactly like ids that do not
 * exist (same message, same SQLSTATE), so functions taking an id are no
 * oracle for what others defined.  A trigger row is visible to a role that
 * is a member of its owner and, when it has a flow, of the flow's owner,
 * as the row-level security policy on flowcontrol.trigger says.
 *
 * Everything here reads flowcontrol's tables through fc_catalog_exec() (as
 * the extension owner) and can ereport(ERROR); nothing starts or ends a
 * transaction.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/rel.h"

#include "catalog.h"
#include "flowcache.h"
#include "trigger_acl.h"

/* A role's name for messages, also when the role has been dropped. */
static char *
role_name(Oid role)
{
	char	   *name = GetUserNameFromId(role, true);

	return name ? name : psprintf("%u", role);
}

bool
fc_trigger_admits(const FcTriggerList *list, Oid role)
{
	int			i;

	if (!list->registered)
		return false;
	if (role == list->owner || is_member_of_role(role, list->owner))
		return true;
	for (i = 0; i < list->ngrantees; i++)
		if (role == list->grantees[i] || is_member_of_role(role, list->grantees[i]))
			return true;
	return false;
}

bool
fc_trigger_may_fire(const FcTriggerList *list, Oid role)
{
	return list->registered && is_member_of_role(role, list->owner);
}

/*
 * Error unless role is admitted to the trigger name; doing says what for
 * ("bind flows to", "wait for").
 */
static void
check_admitted(const char *name, Oid role, const char *doing)
{
	FcTriggerList *list = fc_catalog_get_triggers(name);

	if (!list->registered)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Trigger %s is not registered", name)));
	if (!fc_trigger_admits(list, role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not %s trigger name \"%s\"",
						role_name(role), doing, name),
				 errdetail("The trigger name belongs to role \"%s\", which has not granted it to role \"%s\".",
						   role_name(list->owner), role_name(role)),
				 errhint("Its owner can grant it with flowcontrol.grant_trigger('%s', '%s').",
						 name, role_name(role))));
}

static bool column_changed(TriggerData *td, const char *name);

/* ---------------------------------------------------------------------
 * Trigger ids
 * ---------------------------------------------------------------------
 */
typedef struct FcTriggerRow
{
	char	   *trigger_name;
	bool		create_flow;
	Oid			owner;			/* trigger.owner */
	Oid			flow_owner;		/* InvalidOid: no flow */
} FcTriggerRow;

/* The trigger row with this id; false if there is none. */
static bool
read_trigger(int64 trigger_id, FcTriggerRow *row)
{
	static FcQuery q = {
		"SELECT t.trigger_name, t.create_flow, t.owner::pg_catalog.oid, f.owner::pg_catalog.oid"
		" FROM flowcontrol.trigger t LEFT JOIN flowcontrol.flow f ON f.id = t.flow_id"
		" WHERE t.id = $1",
		1, {INT8OID}
	};
	Datum		arg = Int64GetDatum(trigger_id);
	MemoryContext caller = CurrentMemoryContext;
	bool		found;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	fc_catalog_exec(&q, &arg, NULL, 1);
	found = SPI_processed > 0;
	if (found)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		row->trigger_name = MemoryContextStrdup(caller, SPI_getvalue(tup, desc, 1));
		row->create_flow = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
		row->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		d = SPI_getbinval(tup, desc, 4, &isnull);
		row->flow_owner = isnull ? InvalidOid : DatumGetObjectId(d);
	}
	SPI_finish();
	return found;
}

/* Is the trigger row visible to role (the policy trigger_owner)? */
static bool
trigger_visible(const FcTriggerRow *row, Oid role)
{
	return superuser_arg(role) ||
		(is_member_of_role(role, row->owner) &&
		 (!OidIsValid(row->flow_owner) || is_member_of_role(role, row->flow_owner)));
}

static void
trigger_does_not_exist(int64 trigger_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("trigger %lld does not exist", (long long) trigger_id)));
}

void
fc_trigger_check_visible(int64 trigger_id)
{
	FcTriggerRow row;

	if (!read_trigger(trigger_id, &row) || !trigger_visible(&row, GetUserId()))
		trigger_does_not_exist(trigger_id);
}

bool
fc_trigger_check_wait(int64 trigger_id, Oid flow_owner)
{
	FcTriggerRow row;

	if (!read_trigger(trigger_id, &row) || !trigger_visible(&row, flow_owner))
		trigger_does_not_exist(trigger_id);
	check_admitted(row.trigger_name, flow_owner, "wait for");
	return row.create_flow;
}

/* The "trigger" of a WaitForTriggerAction config, or 0. */
static int64
config_trigger(Jsonb *config)
{
	JsonbValue *v;

	if (config == NULL || !JB_ROOT_IS_OBJECT(config))
		return 0;
	v = getKeyJsonValueFromContainer(&config->root, "trigger", strlen("trigger"), NULL);
	if (v == NULL || v->type != jbvNumeric)
		return 0;
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
}

void
fc_trigger_check_wait_config(TriggerData *td, int64 flow_id, Jsonb *config)
{
	static FcQuery flow_q = {
		"SELECT owner::pg_catalog.oid FROM flowcontrol.flow WHERE id = $1", 1, {INT8OID}
	};
	int64		trigger_id = config_trigger(config);
	FcTriggerRow row;
	Oid			user = GetUserId();
	Oid			flow_owner;
	Datum		arg = Int64GetDatum(flow_id);
	bool		found;
	bool		isnull;

	if (trigger_id == 0)
		return;

	/*
	 * An UPDATE that keeps the trigger and the flow is not checked, so that a
	 * flow waiting for a name whose grant was revoked can still be edited.
	 */
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		Datum		d = fc_catalog_trigger_column(td, td->tg_trigtuple, "config", &isnull);

		if (!isnull && config_trigger(DatumGetJsonbP(d)) == trigger_id &&
			!column_changed(td, "flow_id"))
			return;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	fc_catalog_exec(&flow_q, &arg, NULL, 1);
	found = SPI_processed > 0;
	flow_owner = found ? DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 1, &isnull)) :
		InvalidOid;
	SPI_finish();

	/*
	 * A trigger that does not exist may be created later, so it is checked
	 * when the run waits; one the saving role cannot see is treated alike.
	 */
	if (!found || superuser() || !read_trigger(trigger_id, &row) ||
		!trigger_visible(&row, user) || !trigger_visible(&row, flow_owner))
		return;
	check_admitted(row.trigger_name, flow_owner, "wait for");
}

/* ---------------------------------------------------------------------
 * Bindings: rows of flowcontrol.trigger
 * ---------------------------------------------------------------------
 */

/* Did the UPDATE change the column? */
static bool
column_changed(TriggerData *td, const char *name)
{
	bool		oldnull;
	bool		newnull;
	Datum		o = fc_catalog_trigger_column(td, td->tg_trigtuple, name, &oldnull);
	Datum		n = fc_catalog_trigger_column(td, td->tg_newtuple, name, &newnull);
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(td->tg_relation),
										  SPI_fnumber(RelationGetDescr(td->tg_relation), name) - 1);

	if (oldnull || newnull)
		return oldnull != newnull;
	return !datumIsEqual(o, n, att->attbyval, att->attlen);
}

void
fc_trigger_check_binding(TriggerData *td, HeapTuple tuple, const char *name)
{
	static FcQuery flow_q = {
		"SELECT owner::pg_catalog.oid FROM flowcontrol.flow WHERE id = $1", 1, {INT8OID}
	};
	Oid			user = GetUserId();
	bool		isnull;
	Datum		d;
	Oid			owner;
	int64		flow_id;

	/*
	 * Superusers may bind anything (a restore loads bindings before the
	 * grants that admit them); firing checks again in any case.  An UPDATE
	 * that keeps name, flow and owner is not checked, so that a binding whose
	 * grant was revoked can still be deactivated.
	 */
	if (superuser())
		return;
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) &&
		!column_changed(td, "trigger_name") && !column_changed(td, "flow_id") &&
		!column_changed(td, "owner"))
		return;

	check_admitted(name, user, "bind flows to");
	d = fc_catalog_trigger_column(td, tuple, "owner", &isnull);
	if (!isnull)
	{
		owner = DatumGetObjectId(d);
		if (owner != user)
			check_admitted(name, owner, "bind flows to");
	}
	d = fc_catalog_trigger_column(td, tuple, "flow_id", &isnull);
	flow_id = isnull ? 0 : DatumGetInt64(d);
	if (flow_id != 0)
	{
		bool		found;

		d = Int64GetDatum(flow_id);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		fc_catalog_exec(&flow_q, &d, NULL, 1);
		found = SPI_processed > 0;
		owner = found ? DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull)) :
			InvalidOid;
		SPI_finish();

		/* another role's flow, or none: row-level security says no */
		if (found && owner != user && is_member_of_role(user, owner))
			check_admitted(name, owner, "bind flows to");
	}
}

/* ---------------------------------------------------------------------
 * grant_trigger(), revoke_trigger(), _register_trigger()
 * ---------------------------------------------------------------------
 */

/* The name's owner; errors if the name is unknown or the user may not grant it. */
static void
check_may_grant(const char *name, const char *verb)
{
	static FcQuery owner_q = {
		"SELECT owner::pg_catalog.oid FROM flowcontrol.trigger_type WHERE name = $1",
		1, {TEXTOID}
	};
	Datum		arg = CStringGetTextDatum(name);
	bool		isnull;
	Oid			owner;

	fc_catalog_exec(&owner_q, &arg, NULL, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Trigger %s is not registered", name)));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!is_member_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be a member of role \"%s\" to %s trigger name \"%s\"",
						role_name(owner), verb, name)));
}

static void
required_args(FunctionCallInfo fcinfo, char **name, Oid *role)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("trigger_name must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role must not be NULL")));
	*name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	*role = PG_GETARG_OID(1);
}

/*
 * grant_trigger(trigger_name text, role regrole)
 *
 * Admits role (and its members) to the name; granting again is no error.
 */
PG_FUNCTION_INFO_V1(flowcontrol_grant_trigger);
Datum
flowcontrol_grant_trigger(PG_FUNCTION_ARGS)
{
	static FcQuery insert_q = {
		"INSERT INTO flowcontrol.trigger_grant (trigger_name, grantee, granted_by)"
		" VALUES ($1, $2::pg_catalog.oid::pg_catalog.regrole, $3::pg_catalog.oid::pg_catalog.regrole)"
		" ON CONFLICT (trigger_name, grantee) DO NOTHING",
		3, {TEXTOID, OIDOID, OIDOID}
	};
	char	   *name;
	Oid			role;
	Datum		values[3];

	required_args(fcinfo, &name, &role);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	check_may_grant(name, "grant");
	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(role);
	values[2] = ObjectIdGetDatum(GetUserId());
	fc_catalog_exec(&insert_q, values, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * revoke_trigger(trigger_name text, role regrole)
 *
 * Takes a grant back; revoking what was not granted is no error.  The
 * role's bindings stay (it may delete them) but no firing reaches them.
 */
PG_FUNCTION_INFO_V1(flowcontrol_revoke_trigger);
Datum
flowcontrol_revoke_trigger(PG_FUNCTION_ARGS)
{
	static FcQuery delete_q = {
		"DELETE FROM flowcontrol.trigger_grant"
		" WHERE trigger_name = $1 AND grantee = $2::pg_catalog.oid::pg_catalog.regrole",
		2, {TEXTOID, OIDOID}
	};
	char	   *name;
	Oid			role;
	Datum		values[2];

	required_args(fcinfo, &name, &role);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	check_may_grant(name, "revoke");
	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(role);
	fc_catalog_exec(&delete_q, values, NULL, 0);
	SPI_finish();
	PG_RETURN_VOID();
}
