/*-------------------------------------------------------------------------
 *
 * owner.h
 *	  Running a hook as in a fresh session of the flow's owner.
 *
 * Copyright (c) 2026, flowcontrol developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef FC_OWNER_H
#define FC_OWNER_H

/* What fc_owner_enter() changed, for fc_owner_leave() to restore. */
typedef struct FcOwnerEnv
{
	Oid			saved_userid;
	int			saved_sec_context;
	int			guc_nestlevel;
} FcOwnerEnv;

/*
 * Become the owner as in a fresh session of that role: in a GUC nest level
 * of its own, every setting the session SET is reset, search_path is
 * PostgreSQL's default unless the owner's or the database's settings say
 * otherwise, the owner's and the database's settings (ALTER ROLE ... [IN
 * DATABASE ...] SET, ALTER DATABASE ... SET) apply, and the current user
 * is the owner with SECURITY_RESTRICTED_OPERATION.  Can ereport(ERROR).
 * On error, (sub)transaction abort undoes all of it; callers that catch
 * errors must use a subtransaction.
 */
extern void fc_owner_enter(FcOwnerEnv *env, Oid owner);

/*
 * Only become the owner, with SECURITY_RESTRICTED_OPERATION, keeping the
 * settings: for flowcontrol's own C code run on the owner's behalf (the
 * built-in actions, conditions), which runs no SQL of anyone's and changes
 * no setting; the registered filters and objects it may reach enter hooks
 * of their own.  fc_owner_leave() undoes it.
 */
extern void fc_owner_become(FcOwnerEnv *env, Oid owner);

/*
 * The statement_timeout, in milliseconds (0: none), that a new session of
 * the owner would have: the owner's and the database's settings, else the
 * session's default.  Read once per transaction and owner.  Can
 * ereport(ERROR) (catalog access).
 */
extern int	fc_owner_statement_timeout(Oid owner);

/* Undo fc_owner_enter() or fc_owner_become(): settings, then the user. */
extern void fc_owner_leave(FcOwnerEnv *env);

#endif							/* FC_OWNER_H */
