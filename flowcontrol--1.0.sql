/* flowcontrol--1.0.sql: install script */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION flowcontrol" to load this file. \quit

/*
 * Everything here is schema-qualified (pg_catalog included) so that a
 * hostile search_path cannot substitute functions or operators while the
 * script runs or when its functions are called later.
 */

---------------------------------------------------------------------------
-- Types
---------------------------------------------------------------------------

CREATE TYPE flowcontrol.directive AS ENUM (
	'continue', 'enter', 'leave', 'break', 'abort', 'suspend', 'suspend_and_repeat'
);
COMMENT ON TYPE flowcontrol.directive IS 'what an action tells the engine to do next';

CREATE TYPE flowcontrol.run_status AS ENUM (
	'pending', 'running', 'waiting', 'paused', 'done'
);
COMMENT ON TYPE flowcontrol.run_status IS 'life-cycle state of a flow run';

CREATE TYPE flowcontrol.run_outcome AS ENUM (
	'complete', 'aborted', 'errored', 'obsolete', 'canceled'
);
COMMENT ON TYPE flowcontrol.run_outcome IS 'how a flow run ended (NULL while it is not done)';

---------------------------------------------------------------------------
-- Registries
---------------------------------------------------------------------------

CREATE TABLE flowcontrol.action_type (
	name text PRIMARY KEY
		CONSTRAINT action_type_name_length CHECK (pg_catalog.length(name) OPERATOR(pg_catalog.<=) 100
												 AND name OPERATOR(pg_catalog.<>) ''),
	run_function text,
	return_function text,
	has_children boolean NOT NULL DEFAULT false,
	label text NOT NULL DEFAULT '',
	description text NOT NULL DEFAULT '',
	action_group text,
	builtin boolean NOT NULL DEFAULT false,
	owner regrole NOT NULL DEFAULT pg_catalog.current_user()::regrole,
	CONSTRAINT action_type_user_function CHECK (builtin OR run_function IS NOT NULL)
);
COMMENT ON TABLE flowcontrol.action_type IS 'registry of action types: the built-ins and those added by register_action()';
COMMENT ON COLUMN flowcontrol.action_type.name IS 'action name used in flow_action.action (1 to 100 characters)';
COMMENT ON COLUMN flowcontrol.action_type.run_function IS 'signature of the function run when the action is reached (NULL for built-ins)';
COMMENT ON COLUMN flowcontrol.action_type.return_function IS 'signature of the function run when control returns from the children (NULL: continue)';
COMMENT ON COLUMN flowcontrol.action_type.has_children IS 'whether actions of this type may have child actions';
COMMENT ON COLUMN flowcontrol.action_type.label IS 'human-readable name';
COMMENT ON COLUMN flowcontrol.action_type.description IS 'human-readable description';
COMMENT ON COLUMN flowcontrol.action_type.action_group IS 'free-form group for tools that list actions';
COMMENT ON COLUMN flowcontrol.action_type.builtin IS 'true for the actions implemented inside flowcontrol';
COMMENT ON COLUMN flowcontrol.action_type.owner IS 'role that registered the action; only it or a superuser may unregister it';

INSERT INTO flowcontrol.action_type (name, has_children, label, description, action_group, builtin) VALUES
	('IfAction', true, 'If', 'Runs its children when the condition is true.', 'Control', true),
	('WhileLoopAction', true, 'While loop', 'Runs its children again and again while the condition is true.', 'Control', true),
	('ForLoopAction', true, 'For loop', 'Runs its children for each value of a counter from start to end.', 'Control', true),
	('LeaveAction', false, 'Leave', 'Returns to the parent action (like continue in a loop).', 'Control', true),
	('BreakAction', false, 'Break', 'Goes on with the parent''s next sibling (like break in a loop).', 'Control', true),
	('AbortAction', false, 'Abort', 'Stops the run with outcome aborted.', 'Control', true),
	('SetStateAction', false, 'Set state', 'Replaces the run state, keeping keys that start with an underscore.', 'State', true),
	('UpdateStateAction', false, 'Update state', 'Merges values into the run state.', 'State', true),
	('StartFlowAction', false, 'Start flow', 'Starts a run of another flow as a child run.', 'Flows', true),
	('DelayAction', false, 'Delay', 'Suspends the run until a computed point in time.', 'Time', true),
	('WaitForTriggerAction', false, 'Wait for trigger', 'Suspends the run until a trigger fires.', 'Time', true),
	('SendAlertAction', false, 'Send alert', 'Sends a notification with pg_notify().', 'Notify', true);

CREATE TABLE flowcontrol.trigger_type (
	name text PRIMARY KEY
		CONSTRAINT trigger_type_name_length CHECK (pg_catalog.length(name) OPERATOR(pg_catalog.<=) 100
												  AND name OPERATOR(pg_catalog.<>) ''),
	object_table regclass,
	label text NOT NULL DEFAULT '',
	description text NOT NULL DEFAULT '',
	owner regrole NOT NULL DEFAULT pg_catalog.current_user()::regrole
);
COMMENT ON TABLE flowcontrol.trigger_type IS 'registry of trigger names: the events flows can be started or woken by';
COMMENT ON COLUMN flowcontrol.trigger_type.name IS 'trigger name (1 to 100 characters)';
COMMENT ON COLUMN flowcontrol.trigger_type.object_table IS 'table whose rows the trigger is fired for (NULL: any or none)';
COMMENT ON COLUMN flowcontrol.trigger_type.label IS 'human-readable name';
COMMENT ON COLUMN flowcontrol.trigger_type.description IS 'human-readable description';
COMMENT ON COLUMN flowcontrol.trigger_type.owner IS 'role that owns the trigger name: it and its members may fire it and bind flows to it, and grant it to other roles (attach_trigger() registers a name for the table''s owner)';

-- Roles the owner of a trigger name admitted to it (grant_trigger()).
CREATE TABLE flowcontrol.trigger_grant (
	trigger_name text NOT NULL REFERENCES flowcontrol.trigger_type (name) ON UPDATE CASCADE ON DELETE CASCADE,
	grantee regrole NOT NULL,
	granted_by regrole NOT NULL DEFAULT pg_catalog.current_user()::regrole,
	PRIMARY KEY (trigger_name, grantee)
);
COMMENT ON TABLE flowcontrol.trigger_grant IS 'roles admitted to a trigger name by its owner: they may bind flows to it and wait for it (grant_trigger(), revoke_trigger())';
COMMENT ON COLUMN flowcontrol.trigger_grant.trigger_name IS 'the trigger name (flowcontrol.trigger_type)';
COMMENT ON COLUMN flowcontrol.trigger_grant.grantee IS 'role admitted, with its members';
COMMENT ON COLUMN flowcontrol.trigger_grant.granted_by IS 'role that granted it (the name''s owner, a member of it, or a superuser)';

CREATE TABLE flowcontrol.filter (
	name text PRIMARY KEY
		CONSTRAINT filter_name_syntax CHECK (name OPERATOR(pg_catalog.~) '^[A-Za-z_][A-Za-z0-9_]{0,99}$'),
	function text NOT NULL,
	owner regrole NOT NULL DEFAULT pg_catalog.current_user()::regrole
);
COMMENT ON TABLE flowcontrol.filter IS 'expression filters implemented by SQL functions (register_filter())';
COMMENT ON COLUMN flowcontrol.filter.name IS 'filter name as used in expressions: value|name:arg';
COMMENT ON COLUMN flowcontrol.filter.function IS 'signature of the function (value jsonb, arg jsonb) returning jsonb';
COMMENT ON COLUMN flowcontrol.filter.owner IS 'role that registered the filter';

---------------------------------------------------------------------------
-- Flows
---------------------------------------------------------------------------

CREATE TABLE flowcontrol.flow (
	id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	name text NOT NULL,
	description text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	active_at timestamptz,
	max_concurrent integer NOT NULL DEFAULT 0
		CONSTRAINT flow_max_concurrent_check CHECK (max_concurrent OPERATOR(pg_catalog.>=) 0),
	max_per_object integer NOT NULL DEFAULT 0
		CONSTRAINT flow_max_per_object_check CHECK (max_per_object OPERATOR(pg_catalog.>=) 0),
	max_concurrent_per_object integer NOT NULL DEFAULT 1
		CONSTRAINT flow_max_concurrent_per_object_check CHECK (max_concurrent_per_object OPERATOR(pg_catalog.>=) 0),
	object_table regclass,
	condition text NOT NULL DEFAULT '',
	owner regrole NOT NULL DEFAULT pg_catalog.current_user()::regrole,
	version integer NOT NULL DEFAULT 1
		CONSTRAINT flow_version_check CHECK (version OPERATOR(pg_catalog.>=) 1)
);
COMMENT ON TABLE flowcontrol.flow IS 'flows: named trees of actions that runs execute';
COMMENT ON COLUMN flowcontrol.flow.id IS 'flow identifier';
COMMENT ON COLUMN flowcontrol.flow.name IS 'flow name';
COMMENT ON COLUMN flowcontrol.flow.description IS 'human-readable description';
COMMENT ON COLUMN flowcontrol.flow.created_at IS 'when the flow was created';
COMMENT ON COLUMN flowcontrol.flow.updated_at IS 'when the flow row was last changed';
COMMENT ON COLUMN flowcontrol.flow.active_at IS 'the flow is active from this time on; NULL: inactive';
COMMENT ON COLUMN flowcontrol.flow.max_concurrent IS 'at most this many runs of the flow not done at once (0: unlimited)';
COMMENT ON COLUMN flowcontrol.flow.max_per_object IS 'at most this many runs of the flow per object, ever (0: unlimited)';
COMMENT ON COLUMN flowcontrol.flow.max_concurrent_per_object IS 'at most this many runs per object not done at once (0: unlimited)';
COMMENT ON COLUMN flowcontrol.flow.object_table IS 'runs must be attached to rows of this table (NULL: any object or none)';
COMMENT ON COLUMN flowcontrol.flow.condition IS 'expression checked before each execution; when false the run is discarded';
COMMENT ON COLUMN flowcontrol.flow.owner IS 'role whose privileges the flow''s conditions and actions run with';
COMMENT ON COLUMN flowcontrol.flow.version IS 'the current version: 1 for a new flow, one more with each define_flow(..., replace => true) that changes it; new runs start on it';

CREATE TABLE flowcontrol.flow_action (
	id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	flow_id bigint NOT NULL REFERENCES flowcontrol.flow (id) ON DELETE CASCADE,
	parent_id bigint,
	position integer NOT NULL DEFAULT 0,
	action text NOT NULL REFERENCES flowcontrol.action_type (name) ON UPDATE CASCADE,
	description text NOT NULL DEFAULT '',
	config jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	timeout interval,
	retry jsonb,
	flow_version integer NOT NULL,
	CONSTRAINT flow_action_id_flow_key UNIQUE (id, flow_id),
	CONSTRAINT flow_action_parent_fkey FOREIGN KEY (parent_id, flow_id)
		REFERENCES flowcontrol.flow_action (id, flow_id) ON DELETE CASCADE,
	CONSTRAINT flow_action_config_object CHECK (pg_catalog.jsonb_typeof(config) OPERATOR(pg_catalog.=) 'object')
);
CREATE INDEX flow_action_tree_idx ON flowcontrol.flow_action (flow_id, flow_version, parent_id, position, id);
COMMENT ON TABLE flowcontrol.flow_action IS 'the actions of a flow, as a tree ordered by position';
COMMENT ON COLUMN flowcontrol.flow_action.id IS 'action identifier';
COMMENT ON COLUMN flowcontrol.flow_action.flow_id IS 'flow the action belongs to';
COMMENT ON COLUMN flowcontrol.flow_action.parent_id IS 'parent action in the same flow (NULL: a root action)';
COMMENT ON COLUMN flowcontrol.flow_action.position IS 'order among siblings (ties broken by id)';
COMMENT ON COLUMN flowcontrol.flow_action.action IS 'registered action type (flowcontrol.action_type)';
COMMENT ON COLUMN flowcontrol.flow_action.description IS 'human-readable description';
COMMENT ON COLUMN flowcontrol.flow_action.config IS 'the action''s configuration, validated against its type';
COMMENT ON COLUMN flowcontrol.flow_action.created_at IS 'when the action was created';
COMMENT ON COLUMN flowcontrol.flow_action.timeout IS 'longest time one call of the action may take; then it fails with SQLSTATE 57014 (NULL: no limit but statement_timeout)';
COMMENT ON COLUMN flowcontrol.flow_action.retry IS 'retry policy when the action fails: {"max_attempts", "initial_interval", "backoff_coefficient", "max_interval"} (NULL: no retries)';
COMMENT ON COLUMN flowcontrol.flow_action.flow_version IS 'version of the flow the action belongs to (set to the flow''s current version when omitted); actions of earlier versions are read-only and are removed once no run that is not done uses them';

CREATE TABLE flowcontrol.trigger (
	id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	trigger_name text NOT NULL REFERENCES flowcontrol.trigger_type (name) ON UPDATE CASCADE,
	flow_id bigint REFERENCES flowcontrol.flow (id) ON DELETE CASCADE,
	create_flow boolean NOT NULL DEFAULT true,
	reset_to_action_id bigint,
	condition text NOT NULL DEFAULT '',
	active_at timestamptz,
	owner regrole NOT NULL DEFAULT pg_catalog.current_user()::regrole,
	CONSTRAINT trigger_flow_trigger_name_key UNIQUE (flow_id, trigger_name),
	CONSTRAINT trigger_create_flow_needs_flow CHECK (flow_id IS NOT NULL OR NOT create_flow),
	CONSTRAINT trigger_reset_to_action_fkey FOREIGN KEY (reset_to_action_id, flow_id)
		REFERENCES flowcontrol.flow_action (id, flow_id) ON DELETE SET NULL (reset_to_action_id)
);
CREATE INDEX trigger_name_idx ON flowcontrol.trigger (trigger_name);
COMMENT ON TABLE flowcontrol.trigger IS 'binds a trigger name to a flow: firing it starts runs or wakes waiting ones';
COMMENT ON COLUMN flowcontrol.trigger.id IS 'trigger identifier (WaitForTriggerAction''s "trigger")';
COMMENT ON COLUMN flowcontrol.trigger.trigger_name IS 'registered trigger name (flowcontrol.trigger_type)';
COMMENT ON COLUMN flowcontrol.trigger.flow_id IS 'flow to start (NULL only when create_flow is false)';
COMMENT ON COLUMN flowcontrol.trigger.create_flow IS 'true: firing creates a run; false: firing only wakes runs waiting for this trigger';
COMMENT ON COLUMN flowcontrol.trigger.reset_to_action_id IS 'instead of creating a run, reset the flow''s first run that is not done to this action';
COMMENT ON COLUMN flowcontrol.trigger.condition IS 'expression over state and object that must hold for the trigger to act';
COMMENT ON COLUMN flowcontrol.trigger.active_at IS 'the trigger is active from this time on; NULL: inactive';
COMMENT ON COLUMN flowcontrol.trigger.owner IS 'role that owns the trigger (the flow''s owner when it has a flow)';

CREATE TABLE flowcontrol.flow_run (
	id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	flow_id bigint NOT NULL REFERENCES flowcontrol.flow (id) ON DELETE CASCADE,
	parent_run_id bigint REFERENCES flowcontrol.flow_run (id) ON DELETE SET NULL,
	trigger_id bigint REFERENCES flowcontrol.trigger (id) ON DELETE SET NULL,
	waiting_trigger_id bigint REFERENCES flowcontrol.trigger (id) ON DELETE SET NULL,
	waiting_trigger_match_object boolean NOT NULL DEFAULT true,
	action_id bigint REFERENCES flowcontrol.flow_action (id) ON DELETE SET NULL,
	repeat_action boolean NOT NULL DEFAULT false,
	status flowcontrol.run_status NOT NULL DEFAULT 'pending',
	outcome flowcontrol.run_outcome,
	log text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	continue_after timestamptz,
	done_at timestamptz,
	object_table regclass,
	object_id text,
	state jsonb NOT NULL DEFAULT '{}',
	attempt integer NOT NULL DEFAULT 0,
	flow_version integer,
	CONSTRAINT flow_run_object_check CHECK ((object_table IS NULL) OPERATOR(pg_catalog.=) (object_id IS NULL))
);
-- Every index here is one a query needs (bench/README-triggers.md has the
-- table of users and costs).  A new pending run enters three: the primary
-- key, flow_run_pending_idx and flow_run_not_done_idx; a finished run
-- leaves those two and, with an object, enters flow_run_done_object_idx.
-- object_id is indexed with the "C" collation: equality is the same under
-- every deterministic collation, and byte comparison is the cheapest.
-- What continue_flowruns() executes: pending runs without a time, due waiting runs.
CREATE INDEX flow_run_pending_idx ON flowcontrol.flow_run (id)
	WHERE status OPERATOR(pg_catalog.=) 'pending' AND continue_after IS NULL;
CREATE INDEX flow_run_waiting_idx ON flowcontrol.flow_run (continue_after)
	WHERE status OPERATOR(pg_catalog.=) 'waiting';
-- Limits (max_concurrent by the flow_id prefix, max_concurrent_per_object
-- by the object), a trigger's reset_to_action_id, cancel_flowruns_for_object(),
-- and whether a flow version is still in use (flow_id prefix, flow_version
-- checked in the index).
CREATE INDEX flow_run_not_done_idx ON flowcontrol.flow_run (flow_id, object_table, object_id COLLATE "C", flow_version)
	WHERE status OPERATOR(pg_catalog.<>) 'done';
-- max_per_object counts a flow's runs for an object, done ones included.
CREATE INDEX flow_run_done_object_idx ON flowcontrol.flow_run (flow_id, object_table, object_id COLLATE "C")
	WHERE status OPERATOR(pg_catalog.=) 'done' AND object_id IS NOT NULL;
-- Waking waiting runs, and the ON DELETE SET NULL references.  trigger_id
-- has no index: deleting a trigger binding scans flow_run once (a
-- definition change), so that creating a run stays cheap.
CREATE INDEX flow_run_waiting_trigger_idx ON flowcontrol.flow_run (waiting_trigger_id)
	WHERE waiting_trigger_id IS NOT NULL;
CREATE INDEX flow_run_action_idx ON flowcontrol.flow_run (action_id)
	WHERE action_id IS NOT NULL;
CREATE INDEX flow_run_parent_idx ON flowcontrol.flow_run (parent_run_id)
	WHERE parent_run_id IS NOT NULL;
COMMENT ON TABLE flowcontrol.flow_run IS 'flow runs: one execution of a flow, with its persistent state';
COMMENT ON COLUMN flowcontrol.flow_run.id IS 'run identifier';
COMMENT ON COLUMN flowcontrol.flow_run.flow_id IS 'flow being run';
COMMENT ON COLUMN flowcontrol.flow_run.parent_run_id IS 'run whose StartFlowAction started this one';
COMMENT ON COLUMN flowcontrol.flow_run.trigger_id IS 'trigger that created or last reset the run';
COMMENT ON COLUMN flowcontrol.flow_run.waiting_trigger_id IS 'trigger the run waits for';
COMMENT ON COLUMN flowcontrol.flow_run.waiting_trigger_match_object IS 'only a firing for the run''s own object wakes it';
COMMENT ON COLUMN flowcontrol.flow_run.action_id IS 'current action (where a suspended run resumes)';
COMMENT ON COLUMN flowcontrol.flow_run.repeat_action IS 'on resume, run the current action again instead of going on after it';
COMMENT ON COLUMN flowcontrol.flow_run.status IS 'pending, running, waiting, paused or done';
COMMENT ON COLUMN flowcontrol.flow_run.outcome IS 'how the run ended; NULL while not done';
COMMENT ON COLUMN flowcontrol.flow_run.log IS 'log lines, joined by newlines';
COMMENT ON COLUMN flowcontrol.flow_run.created_at IS 'when the run was created';
COMMENT ON COLUMN flowcontrol.flow_run.continue_after IS 'a waiting run resumes at or after this time';
COMMENT ON COLUMN flowcontrol.flow_run.done_at IS 'when the run ended';
COMMENT ON COLUMN flowcontrol.flow_run.object_table IS 'table of the object the run is attached to';
COMMENT ON COLUMN flowcontrol.flow_run.object_id IS 'primary key of the object, as text';
COMMENT ON COLUMN flowcontrol.flow_run.state IS 'the run''s persistent state';
COMMENT ON COLUMN flowcontrol.flow_run.attempt IS 'failures of the current action so far (0 again once it succeeds); with a retry policy, the run waits and runs the action again';
COMMENT ON COLUMN flowcontrol.flow_run.flow_version IS 'version of the flow the run started on, whose actions it executes (NULL: not pinned yet; the current version when it first executes)';

-- Earlier versions of flows, kept while runs that are not done use them.
CREATE TABLE flowcontrol.flow_version (
	flow_id bigint NOT NULL REFERENCES flowcontrol.flow (id) ON DELETE CASCADE,
	version integer NOT NULL,
	definition jsonb NOT NULL,
	replaced_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (flow_id, version)
);
COMMENT ON TABLE flowcontrol.flow_version IS 'earlier versions of flows, kept (with their actions) while runs that are not done use them';
COMMENT ON COLUMN flowcontrol.flow_version.flow_id IS 'the flow';
COMMENT ON COLUMN flowcontrol.flow_version.version IS 'the earlier version';
COMMENT ON COLUMN flowcontrol.flow_version.definition IS 'the version''s document, as export_flow() gave it when a deploy replaced it';
COMMENT ON COLUMN flowcontrol.flow_version.replaced_at IS 'when a deploy replaced it';

---------------------------------------------------------------------------
-- Internal trigger functions: validation and cache invalidation
---------------------------------------------------------------------------

CREATE FUNCTION flowcontrol._check_definition() RETURNS trigger
	AS 'MODULE_PATHNAME', 'flowcontrol_check_definition' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol._check_definition() IS 'internal: validates flows, actions and triggers as they are saved';

CREATE FUNCTION flowcontrol._invalidate() RETURNS trigger
	AS 'MODULE_PATHNAME', 'flowcontrol_invalidate' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol._invalidate() IS 'internal: tells every session that cached flow definitions changed';

CREATE TRIGGER flow_check BEFORE INSERT OR UPDATE ON flowcontrol.flow
	FOR EACH ROW EXECUTE FUNCTION flowcontrol._check_definition();
CREATE TRIGGER flow_action_check BEFORE INSERT OR UPDATE ON flowcontrol.flow_action
	FOR EACH ROW EXECUTE FUNCTION flowcontrol._check_definition();
CREATE TRIGGER trigger_check BEFORE INSERT OR UPDATE ON flowcontrol.trigger
	FOR EACH ROW EXECUTE FUNCTION flowcontrol._check_definition();

-- A run waiting for a trigger that is deleted could never resume: it ends
-- errored (whoever may see it; hence SECURITY DEFINER).
CREATE FUNCTION flowcontrol._trigger_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE flowcontrol.flow_run
	SET status = 'done', outcome = 'errored', done_at = now(),
		log = CASE WHEN log = '' THEN '' ELSE log || E'\n' END
			  || format('Trigger %s (%s) was deleted while the run waited for it.', OLD.trigger_name, OLD.id)
	WHERE waiting_trigger_id = OLD.id AND status IN ('waiting', 'paused');
	RETURN OLD;
END
$$;
COMMENT ON FUNCTION flowcontrol._trigger_deleted() IS 'internal: ends the runs waiting for a deleted trigger';
CREATE TRIGGER trigger_deleted BEFORE DELETE ON flowcontrol.trigger
	FOR EACH ROW EXECUTE FUNCTION flowcontrol._trigger_deleted();

-- A flow is deleted only once its runs are done (delete_flow(id, cancel_runs
-- => true) cancels them first); an action only while no run that is not
-- done is at it or executes its version.  Deleting them silently used to
-- delete runs or leave them without their action.  One function for both
-- tables, as _check_definition() is for their inserts and updates.
CREATE FUNCTION flowcontrol._definition_deleting() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
	run_id bigint;
	current_version integer;
BEGIN
	IF TG_TABLE_NAME = 'flow' THEN
		SELECT count(*) INTO n FROM flowcontrol.flow_run r
		WHERE r.flow_id = OLD.id AND r.status <> 'done';
		IF n > 0 THEN
			RAISE EXCEPTION 'flow % has % flow % that % not done', OLD.id, n,
				CASE WHEN n = 1 THEN 'run' ELSE 'runs' END, CASE WHEN n = 1 THEN 'is' ELSE 'are' END
				USING ERRCODE = 'dependent_objects_still_exist',
					  HINT = format('End them first, or delete the flow with flowcontrol.delete_flow(%s, cancel_runs => true).', OLD.id);
		END IF;
		RETURN OLD;
	END IF;

	-- flow_action
	SELECT r.id INTO run_id FROM flowcontrol.flow_run r
	WHERE r.action_id = OLD.id AND r.status <> 'done' ORDER BY r.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'action % of flow % is in use by flow run %', OLD.id, OLD.flow_id, run_id
			USING ERRCODE = 'object_in_use',
				  DETAIL = 'A run that is not done is at this action.',
				  HINT = 'Deploy the change as a new version with flowcontrol.define_flow(..., replace => true), or end the run first.';
	END IF;
	SELECT f.version INTO current_version FROM flowcontrol.flow f WHERE f.id = OLD.flow_id;
	IF OLD.flow_version < current_version THEN
		SELECT r.id INTO run_id FROM flowcontrol.flow_run r
		WHERE r.flow_id = OLD.flow_id AND r.flow_version = OLD.flow_version AND r.status <> 'done'
		ORDER BY r.id LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'version % of flow % is read-only', OLD.flow_version, OLD.flow_id
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = format('Flow run %s, which is not done, executes it.', run_id);
		END IF;
	END IF;
	RETURN OLD;
END
$$;
COMMENT ON FUNCTION flowcontrol._definition_deleting() IS 'internal: refuses to delete a flow whose runs are not all done, or an action that runs that are not done use';
CREATE TRIGGER flow_deleting BEFORE DELETE ON flowcontrol.flow
	FOR EACH ROW EXECUTE FUNCTION flowcontrol._definition_deleting();
CREATE TRIGGER flow_action_deleting BEFORE DELETE ON flowcontrol.flow_action
	FOR EACH ROW EXECUTE FUNCTION flowcontrol._definition_deleting();

CREATE TRIGGER flow_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flowcontrol.flow
	FOR EACH STATEMENT EXECUTE FUNCTION flowcontrol._invalidate();
CREATE TRIGGER flow_action_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flowcontrol.flow_action
	FOR EACH STATEMENT EXECUTE FUNCTION flowcontrol._invalidate();
CREATE TRIGGER trigger_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flowcontrol.trigger
	FOR EACH STATEMENT EXECUTE FUNCTION flowcontrol._invalidate();
CREATE TRIGGER action_type_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flowcontrol.action_type
	FOR EACH STATEMENT EXECUTE FUNCTION flowcontrol._invalidate();
CREATE TRIGGER trigger_type_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flowcontrol.trigger_type
	FOR EACH STATEMENT EXECUTE FUNCTION flowcontrol._invalidate();
CREATE TRIGGER filter_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flowcontrol.filter
	FOR EACH STATEMENT EXECUTE FUNCTION flowcontrol._invalidate();
CREATE TRIGGER trigger_grant_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON flowcontrol.trigger_grant
	FOR EACH STATEMENT EXECUTE FUNCTION flowcontrol._invalidate();

---------------------------------------------------------------------------
-- Row-level security: a role sees the flows it owns or is a member of the
-- owner of, and their actions, triggers and runs.  Superusers and the
-- extension owner (the tables' owner) are not restricted.
---------------------------------------------------------------------------

ALTER TABLE flowcontrol.flow ENABLE ROW LEVEL SECURITY;
CREATE POLICY flow_owner ON flowcontrol.flow
	USING (pg_catalog.pg_has_role(owner::oid, 'MEMBER'));

ALTER TABLE flowcontrol.flow_action ENABLE ROW LEVEL SECURITY;
CREATE POLICY flow_action_owner ON flowcontrol.flow_action
	USING (EXISTS (SELECT FROM flowcontrol.flow f WHERE f.id OPERATOR(pg_catalog.=) flow_id));

ALTER TABLE flowcontrol.trigger ENABLE ROW LEVEL SECURITY;
CREATE POLICY trigger_owner ON flowcontrol.trigger
	USING (pg_catalog.pg_has_role(owner::oid, 'MEMBER')
		   AND (flow_id IS NULL
				OR EXISTS (SELECT FROM flowcontrol.flow f WHERE f.id OPERATOR(pg_catalog.=) flow_id)));

ALTER TABLE flowcontrol.flow_version ENABLE ROW LEVEL SECURITY;
CREATE POLICY flow_version_owner ON flowcontrol.flow_version
	USING (EXISTS (SELECT FROM flowcontrol.flow f WHERE f.id OPERATOR(pg_catalog.=) flow_id));

ALTER TABLE flowcontrol.flow_run ENABLE ROW LEVEL SECURITY;
CREATE POLICY flow_run_owner ON flowcontrol.flow_run
	USING (EXISTS (SELECT FROM flowcontrol.flow f WHERE f.id OPERATOR(pg_catalog.=) flow_id));

---------------------------------------------------------------------------
-- pg_dump keeps users' flows, runs and registrations
---------------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('flowcontrol.action_type', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.trigger_type', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.filter', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.trigger_grant', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.flow', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.flow_action', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.flow_version', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.trigger', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.flow_run', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.flow_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.flow_action_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.trigger_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('flowcontrol.flow_run_id_seq', '');

---------------------------------------------------------------------------
-- Registries
---------------------------------------------------------------------------

CREATE FUNCTION flowcontrol.register_action(
	name text,
	run_function regprocedure,
	return_function regprocedure DEFAULT NULL,
	has_children boolean DEFAULT false,
	label text DEFAULT NULL,
	description text DEFAULT '',
	action_group text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol_register_action' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol.register_action(text, regprocedure, regprocedure, boolean, text, text, text)
	IS 'registers a user action implemented by SQL functions';

CREATE FUNCTION flowcontrol.unregister_action(name text) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol_unregister_action' LANGUAGE C STRICT;
COMMENT ON FUNCTION flowcontrol.unregister_action(text) IS 'removes a user action that no flow uses';

CREATE FUNCTION flowcontrol.register_trigger(
	name text,
	object_table regclass DEFAULT NULL,
	label text DEFAULT '',
	description text DEFAULT '')
RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol_register_trigger' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol.register_trigger(text, regclass, text, text) IS 'registers a trigger name, owned by the current user';

CREATE FUNCTION flowcontrol.unregister_trigger(name text) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol_unregister_trigger' LANGUAGE C STRICT;
COMMENT ON FUNCTION flowcontrol.unregister_trigger(text)
	IS 'removes a trigger name that no flow is bound to and no table fires (with its grants)';

CREATE FUNCTION flowcontrol._register_trigger(
	name text,
	object_table regclass,
	label text,
	description text,
	owner regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol__register_trigger' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol._register_trigger(text, regclass, text, text, regrole)
	IS 'internal: registers a trigger name for a role the current user is a member of (attach_trigger())';

CREATE FUNCTION flowcontrol.grant_trigger(trigger_name text, role regrole) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol_grant_trigger' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol.grant_trigger(text, regrole)
	IS 'admits a role (and its members) to a trigger name: its flows may bind to it and wait for it';

CREATE FUNCTION flowcontrol.revoke_trigger(trigger_name text, role regrole) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol_revoke_trigger' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol.revoke_trigger(text, regrole)
	IS 'takes back grant_trigger(): firings of the name no longer reach the role''s flows or waiting runs';

CREATE FUNCTION flowcontrol.register_filter(name text, function regprocedure) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol_register_filter' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol.register_filter(text, regprocedure)
	IS 'adds an expression filter implemented by a function (value jsonb, arg jsonb) returning jsonb';

CREATE FUNCTION flowcontrol.unregister_filter(name text) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol_unregister_filter' LANGUAGE C STRICT;
COMMENT ON FUNCTION flowcontrol.unregister_filter(text)
	IS 'removes a registered filter that no expression of a flow, action or trigger uses';

---------------------------------------------------------------------------
-- Expressions
---------------------------------------------------------------------------

CREATE FUNCTION flowcontrol.evaluate(expression text, context jsonb DEFAULT '{}') RETURNS jsonb
AS 'MODULE_PATHNAME', 'flowcontrol_evaluate' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.evaluate(text, jsonb) IS 'evaluates an expression over a jsonb context';

CREATE FUNCTION flowcontrol.evaluate_condition(expression text, context jsonb DEFAULT '{}') RETURNS boolean
AS 'MODULE_PATHNAME', 'flowcontrol_evaluate_condition' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.evaluate_condition(text, jsonb)
	IS 'evaluates an expression as a condition: the truthiness of its value (an empty expression is false)';

CREATE FUNCTION flowcontrol.validate_expression(expression text) RETURNS boolean
AS 'MODULE_PATHNAME', 'flowcontrol_validate_expression' LANGUAGE C STRICT;
COMMENT ON FUNCTION flowcontrol.validate_expression(text)
	IS 'raises an error if the expression is invalid; returns true otherwise';

---------------------------------------------------------------------------
-- Flow runs
---------------------------------------------------------------------------

CREATE FUNCTION flowcontrol.create_flowrun(
	flow_id bigint,
	object_table regclass DEFAULT NULL,
	object_id text DEFAULT NULL,
	state jsonb DEFAULT NULL,
	parent_run_id bigint DEFAULT NULL,
	trigger_id bigint DEFAULT NULL)
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_create_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.create_flowrun(bigint, regclass, text, jsonb, bigint, bigint)
	IS 'creates a pending run when the flow is active and its limits allow; NULL otherwise';

CREATE FUNCTION flowcontrol.start_flowrun(
	flow_id bigint,
	object_table regclass DEFAULT NULL,
	object_id text DEFAULT NULL,
	state jsonb DEFAULT NULL,
	parent_run_id bigint DEFAULT NULL)
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_start_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.start_flowrun(bigint, regclass, text, jsonb, bigint)
	IS 'creates a run and executes it at once; NULL if no run was created';

CREATE FUNCTION flowcontrol.execute_flowrun(run_id bigint, max_hot_loop integer DEFAULT 1000)
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_execute_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.execute_flowrun(bigint, integer)
	IS 'executes a pending or due waiting run until it suspends or ends';

CREATE FUNCTION flowcontrol.cancel_flowrun(run_id bigint)
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_cancel_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.cancel_flowrun(bigint) IS 'ends a run that is not done with outcome canceled';

CREATE FUNCTION flowcontrol.cancel_flowruns_for_object(object_table regclass, object_id text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'flowcontrol_cancel_flowruns_for_object' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.cancel_flowruns_for_object(regclass, text)
	IS 'cancels the pending and waiting runs of an object; returns how many';

CREATE FUNCTION flowcontrol.reset_flowrun(
	run_id bigint,
	action_id bigint DEFAULT NULL,
	trigger_id bigint DEFAULT NULL,
	state jsonb DEFAULT NULL)
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_reset_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.reset_flowrun(bigint, bigint, bigint, jsonb)
	IS 'makes a run start over, at an action (waiting, due now) or from the beginning (pending)';

CREATE FUNCTION flowcontrol.discard_flowrun(run_id bigint, message text DEFAULT '')
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_discard_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.discard_flowrun(bigint, text) IS 'ends a run with outcome obsolete';

CREATE FUNCTION flowcontrol.abort_flowrun(run_id bigint)
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_abort_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.abort_flowrun(bigint) IS 'ends a run with outcome aborted';

CREATE FUNCTION flowcontrol.error_flowrun(run_id bigint, message text DEFAULT '')
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_error_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.error_flowrun(bigint, text) IS 'ends a run with outcome errored';

CREATE FUNCTION flowcontrol.pause_flowrun(run_id bigint)
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_pause_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.pause_flowrun(bigint) IS 'pauses a pending or waiting run: it is not executed until resumed';

CREATE FUNCTION flowcontrol.resume_flowrun(run_id bigint)
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_resume_flowrun' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.resume_flowrun(bigint) IS 'resumes a paused run (waiting or pending again)';

CREATE FUNCTION flowcontrol.append_log(run_id bigint, message text)
RETURNS flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_append_log' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.append_log(bigint, text) IS 'appends a line to a run''s log';

CREATE FUNCTION flowcontrol.continue_flowruns(max_runs integer DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'flowcontrol_continue_flowruns' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.continue_flowruns(integer)
	IS 'executes every runnable run (the background worker''s unit of work); returns how many';

CREATE FUNCTION flowcontrol.cleanup_flowruns(older_than interval, max_runs bigint DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'flowcontrol_cleanup_flowruns' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.cleanup_flowruns(interval, bigint)
	IS 'deletes the caller''s runs that are done and finished longer ago than older_than (at most max_runs); returns how many';

CREATE FUNCTION flowcontrol.get_context(run flowcontrol.flow_run, obj jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'flowcontrol_get_context' LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION flowcontrol.get_context(flowcontrol.flow_run, jsonb)
	IS 'the context expressions of a run see: its state plus "object" and "obj"';

CREATE VIEW flowcontrol.runnable_runs WITH (security_invoker = true) AS
	SELECT * FROM flowcontrol.flow_run
	WHERE (status OPERATOR(pg_catalog.=) 'pending' AND continue_after IS NULL)
	   OR (status OPERATOR(pg_catalog.=) 'waiting' AND continue_after OPERATOR(pg_catalog.<=) pg_catalog.now());
COMMENT ON VIEW flowcontrol.runnable_runs IS 'the runs continue_flowruns() would execute now';

CREATE VIEW flowcontrol.flow_stats WITH (security_invoker = true) AS
	SELECT f.id AS flow_id, f.name AS flow_name, r.status, r.outcome, pg_catalog.count(*) AS runs
	FROM flowcontrol.flow f JOIN flowcontrol.flow_run r ON r.flow_id OPERATOR(pg_catalog.=) f.id
	GROUP BY f.id, f.name, r.status, r.outcome;
COMMENT ON VIEW flowcontrol.flow_stats IS 'number of runs per flow, status and outcome';
COMMENT ON COLUMN flowcontrol.flow_stats.flow_id IS 'flow identifier';
COMMENT ON COLUMN flowcontrol.flow_stats.flow_name IS 'flow name';
COMMENT ON COLUMN flowcontrol.flow_stats.status IS 'run status';
COMMENT ON COLUMN flowcontrol.flow_stats.outcome IS 'run outcome (NULL while not done)';
COMMENT ON COLUMN flowcontrol.flow_stats.runs IS 'number of runs with that status and outcome';

-- The view's columns mean what the table's do.
DO $$
DECLARE
	a record;
BEGIN
	FOR a IN SELECT attname, pg_catalog.col_description(attrelid, attnum) AS d
			 FROM pg_catalog.pg_attribute
			 WHERE attrelid OPERATOR(pg_catalog.=) 'flowcontrol.flow_run'::regclass
			   AND attnum OPERATOR(pg_catalog.>) 0 AND NOT attisdropped
	LOOP
		EXECUTE pg_catalog.format('COMMENT ON COLUMN flowcontrol.runnable_runs.%I IS %L', a.attname, a.d);
	END LOOP;
END
$$;

---------------------------------------------------------------------------
-- Triggers
---------------------------------------------------------------------------

CREATE FUNCTION flowcontrol.trigger_flows(
	trigger_name text,
	object_table regclass DEFAULT NULL,
	object_id text DEFAULT NULL,
	state jsonb DEFAULT NULL,
	immediate boolean DEFAULT false)
RETURNS SETOF flowcontrol.flow_run
AS 'MODULE_PATHNAME', 'flowcontrol_trigger_flows' LANGUAGE C ROWS 1;
COMMENT ON FUNCTION flowcontrol.trigger_flows(text, regclass, text, jsonb, boolean)
	IS 'fires a trigger name: starts the flows bound to it and wakes the runs waiting for it';

CREATE FUNCTION flowcontrol.fire() RETURNS trigger
AS 'MODULE_PATHNAME', 'flowcontrol_fire' LANGUAGE C;
COMMENT ON FUNCTION flowcontrol.fire()
	IS 'AFTER ... FOR EACH ROW trigger function: fire(''name'' [, ''immediate'']) fires a trigger name for the row';

CREATE FUNCTION flowcontrol._table_trigger_name(trigger_name text)
RETURNS name
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN octet_length('flowcontrol_' || $1) <= 63 THEN ('flowcontrol_' || $1)::name
				ELSE ('flowcontrol_' || left(md5($1), 16))::name END
$$;
COMMENT ON FUNCTION flowcontrol._table_trigger_name(text) IS 'internal: the name of the table trigger attach_trigger() creates';

CREATE FUNCTION flowcontrol.attach_trigger(
	table_name regclass,
	trigger_name text,
	events text[] DEFAULT '{INSERT,UPDATE}',
	immediate boolean DEFAULT false,
	label text DEFAULT '',
	description text DEFAULT '')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ev text;
	evs text[] := '{}';
	tbl_owner regrole;
	name_owner regrole;
	citus_kind text;
BEGIN
	IF table_name IS NULL OR trigger_name IS NULL THEN
		RAISE EXCEPTION 'table_name and trigger_name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- Citus: the row triggers of a table it manages fire for the table's
	-- shards, on the nodes holding them, where flowcontrol's tables and
	-- flows are not (doc/scaling.md).  Citus's catalog is looked up by name,
	-- so this works, and costs nothing, without Citus.
	IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		EXECUTE $q$SELECT CASE WHEN p.repmodel = 't' THEN 'reference'
							   WHEN p.partmethod = 'n' AND p.colocationid = 0 THEN 'local'
							   ELSE 'distributed' END
				   FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1$q$
			INTO citus_kind USING table_name;
		IF citus_kind IS NOT NULL THEN
			RAISE EXCEPTION 'cannot attach a flow trigger to Citus % table "%"', citus_kind, table_name
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = CASE citus_kind
								   WHEN 'local' THEN 'Its row triggers would fire for its shard, and runs would '
													 'be attached to the shard instead of the table.'
								   ELSE 'Its row triggers would fire for its shards on the worker nodes, '
										'where flowcontrol''s flows and runs are not.' END,
					  HINT = 'Call flowcontrol.trigger_flows() on the coordinator after writing the row '
							 '(doc/scaling.md, "Coordinator mode").';
		END IF;
	END IF;
	-- the table must have a single-column primary key
	IF NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = table_name AND i.indisprimary
				   AND i.indnkeyatts = 1) THEN
		RAISE EXCEPTION 'table "%" has no single-column primary key', table_name
			USING ERRCODE = 'invalid_object_definition',
				  DETAIL = 'Flow runs are attached to rows by a primary key of one column.';
	END IF;
	IF events IS NULL OR cardinality(events) = 0 THEN
		RAISE EXCEPTION 'events must name at least one of INSERT, UPDATE and DELETE'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH ev IN ARRAY events LOOP
		IF ev IS NULL OR upper(ev) NOT IN ('INSERT', 'UPDATE', 'DELETE') THEN
			RAISE EXCEPTION 'invalid event "%"', ev
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Events are INSERT, UPDATE and DELETE.';
		END IF;
		IF NOT upper(ev) = ANY (evs) THEN
			evs := evs || upper(ev);
		END IF;
	END LOOP;
	-- the table's rows fire the name for the table's owner: the caller must
	-- act for that owner, and the owner must own the name (or be a member
	-- of its owner), or its table would feed another role's flows
	SELECT c.relowner::regrole INTO tbl_owner FROM pg_class c WHERE c.oid = table_name;
	IF NOT pg_has_role(tbl_owner, 'MEMBER') THEN
		RAISE EXCEPTION 'must be a member of role "%" to attach a trigger to table "%"', tbl_owner, table_name
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Role "' || tbl_owner || '" owns the table.';
	END IF;
	SELECT t.owner INTO name_owner FROM flowcontrol.trigger_type t WHERE t.name = attach_trigger.trigger_name;
	IF NOT FOUND THEN
		PERFORM flowcontrol._register_trigger(attach_trigger.trigger_name, table_name,
											  coalesce(label, ''), coalesce(description, ''), tbl_owner);
	ELSIF NOT pg_has_role(tbl_owner, name_owner, 'MEMBER') THEN
		RAISE EXCEPTION 'trigger name "%" belongs to role "%"', attach_trigger.trigger_name, name_owner
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The owner of table "' || table_name || '", role "' || tbl_owner
						   || '", is not a member of it, so the table may not fire the name.',
				  HINT = 'Choose another trigger name.';
	END IF;
	EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s FOR EACH ROW EXECUTE FUNCTION flowcontrol.fire(%L%s)',
				   flowcontrol._table_trigger_name(attach_trigger.trigger_name),
				   array_to_string(evs, ' OR '), table_name, attach_trigger.trigger_name,
				   CASE WHEN immediate THEN ', ''immediate''' ELSE '' END);
END
$$;
COMMENT ON FUNCTION flowcontrol.attach_trigger(regclass, text, text[], boolean, text, text)
	IS 'registers a trigger name (if new, for the table''s owner) and fires it for every inserted, updated or deleted row of a table';

CREATE FUNCTION flowcontrol.detach_trigger(table_name regclass, trigger_name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tg name := flowcontrol._table_trigger_name(detach_trigger.trigger_name);
BEGIN
	IF NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = table_name AND t.tgname = tg) THEN
		RAISE EXCEPTION 'table "%" has no flow trigger %', table_name, detach_trigger.trigger_name
			USING ERRCODE = 'undefined_object';
	END IF;
	EXECUTE format('DROP TRIGGER %I ON %s', tg, table_name);
END
$$;
COMMENT ON FUNCTION flowcontrol.detach_trigger(regclass, text) IS 'removes the table trigger attach_trigger() created';

---------------------------------------------------------------------------
-- Defining flows
---------------------------------------------------------------------------

CREATE FUNCTION flowcontrol._add_action(
	flow_id bigint,
	action text,
	config jsonb,
	parent_id bigint,
	description text,
	timeout interval,
	retry jsonb)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF _add_action.flow_id IS NULL OR NOT EXISTS (
		SELECT FROM flowcontrol.flow f WHERE f.id OPERATOR(pg_catalog.=) _add_action.flow_id) THEN
		RAISE EXCEPTION 'flow % does not exist', _add_action.flow_id USING ERRCODE = 'undefined_object';
	END IF;
	INSERT INTO flowcontrol.flow_action AS a (flow_id, parent_id, position, action, config, description,
											 timeout, retry)
	VALUES (_add_action.flow_id, _add_action.parent_id,
			(SELECT coalesce(max(s.position) OPERATOR(pg_catalog.+) 1, 0)
			 FROM flowcontrol.flow_action s
			 WHERE s.flow_id OPERATOR(pg_catalog.=) _add_action.flow_id
			   AND s.parent_id IS NOT DISTINCT FROM _add_action.parent_id),
			_add_action.action, coalesce(_add_action.config, '{}'), coalesce(_add_action.description, ''),
			_add_action.timeout, _add_action.retry)
	RETURNING a.id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION flowcontrol._add_action(bigint, text, jsonb, bigint, text, interval, jsonb)
	IS 'internal: add_action() without its error handling';

-- C, so that its errors reach the caller without the CONTEXT lines of
-- _add_action() and the INSERT it runs.
CREATE FUNCTION flowcontrol.add_action(
	flow_id bigint,
	action text,
	config jsonb DEFAULT '{}',
	parent_id bigint DEFAULT NULL,
	description text DEFAULT '',
	timeout interval DEFAULT NULL,
	retry jsonb DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'flowcontrol_add_action' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol.add_action(bigint, text, jsonb, bigint, text, interval, jsonb)
	IS 'appends an action as the last child of parent_id (or as the last root action), with an optional time limit and retry policy; returns its id';

CREATE FUNCTION flowcontrol._check_action(action text, config jsonb, location text) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol__check_action' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol._check_action(text, jsonb, text)
	IS 'internal: checks an action of a flow document, naming its place in errors';

CREATE FUNCTION flowcontrol._check_trigger(trigger_name text, location text) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol__check_trigger' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol._check_trigger(text, text)
	IS 'internal: checks that a trigger of a flow document names a registered trigger, naming its place in errors';

CREATE FUNCTION flowcontrol._action_timeout(item jsonb, location text) RETURNS interval
AS 'MODULE_PATHNAME', 'flowcontrol__action_timeout' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol._action_timeout(jsonb, text)
	IS 'internal: the "timeout" of an action of a flow document as an interval, checked, naming its place in errors';

CREATE FUNCTION flowcontrol._action_retry(item jsonb, location text) RETURNS jsonb
AS 'MODULE_PATHNAME', 'flowcontrol__action_retry' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol._action_retry(jsonb, text)
	IS 'internal: the "retry" policy of an action of a flow document, checked, naming its place in errors';

CREATE FUNCTION flowcontrol._check_condition(condition text, location text) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol__check_condition' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol._check_condition(text, text)
	IS 'internal: checks a condition of a flow document, naming its place in errors';

CREATE FUNCTION flowcontrol._check_keys(doc jsonb, what text, allowed text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k text;
BEGIN
	IF jsonb_typeof(doc) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION '% must be a JSON object', what USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR k IN SELECT jsonb_object_keys(doc) LOOP
		IF NOT k OPERATOR(pg_catalog.=) ANY (allowed) THEN
			RAISE EXCEPTION 'unknown key "%" in %', k, what
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Allowed keys are %s.', array_to_string(allowed, ', '));
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION flowcontrol._check_keys(jsonb, text, text[]) IS 'internal: rejects unknown keys in definitions';

CREATE FUNCTION flowcontrol._typed(doc jsonb, key text, type text, what text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF doc ? key AND jsonb_typeof(doc OPERATOR(pg_catalog.->) key) IS DISTINCT FROM type
	   AND jsonb_typeof(doc OPERATOR(pg_catalog.->) key) IS DISTINCT FROM 'null' THEN
		RAISE EXCEPTION 'key "%" in % must be a JSON %', key, what, type
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN CASE WHEN jsonb_typeof(doc OPERATOR(pg_catalog.->) key) OPERATOR(pg_catalog.=) 'null' THEN NULL
				ELSE doc OPERATOR(pg_catalog.->) key END;
END
$$;
COMMENT ON FUNCTION flowcontrol._typed(jsonb, text, text, text) IS 'internal: a definition value of the expected JSON type, or NULL';

-- The flow document in canonical form: every key present, defaults filled
-- in, triggers ordered by name.  export_flow() produces this form, so a
-- document is unchanged when its canonical form equals the export of the
-- flow (define_flow(..., replace => true) then changes nothing).
CREATE FUNCTION flowcontrol._canonical_actions(actions jsonb, path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	item jsonb;
	i integer := 0;
	what text;
	config jsonb;
	result jsonb := '[]';
BEGIN
	IF actions IS NULL THEN
		RETURN result;
	END IF;
	IF jsonb_typeof(actions) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION '% must be a JSON array', path USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR item IN SELECT value FROM jsonb_array_elements(actions) LOOP
		what := format('%s[%s]', path, i);
		PERFORM flowcontrol._check_keys(item, what, ARRAY['action', 'config', 'description', 'children',
														  'timeout', 'retry']);
		IF flowcontrol._typed(item, 'action', 'string', what) IS NULL THEN
			RAISE EXCEPTION 'key "action" is required in %', what USING ERRCODE = 'invalid_parameter_value';
		END IF;
		config := coalesce(flowcontrol._typed(item, 'config', 'object', what), '{}');
		PERFORM flowcontrol._check_action(item OPERATOR(pg_catalog.->>) 'action', config, what);
		result := result OPERATOR(pg_catalog.||) jsonb_build_array(jsonb_build_object(
			'action', item OPERATOR(pg_catalog.->>) 'action',
			'config', config,
			'description', coalesce(flowcontrol._typed(item, 'description', 'string', what) OPERATOR(pg_catalog.#>>) '{}', ''),
			'children', flowcontrol._canonical_actions(flowcontrol._typed(item, 'children', 'array', what),
													   what OPERATOR(pg_catalog.||) '.children'))
			-- the time limit and retry policy only where an action has them, as export_flow() shows them
			OPERATOR(pg_catalog.||) jsonb_strip_nulls(jsonb_build_object(
				'timeout', pg_catalog.date_part('epoch', flowcontrol._action_timeout(item, what)),
				'retry', flowcontrol._action_retry(item, what))));
		i := i OPERATOR(pg_catalog.+) 1;
	END LOOP;
	RETURN result;
END
$$;
COMMENT ON FUNCTION flowcontrol._canonical_actions(jsonb, text) IS 'internal: checks the actions of a flow document and returns them in canonical form';

-- When a flow or trigger described by doc becomes active: "active_at" (a
-- timestamp) if given, else now() for "active": true -- keeping current,
-- the time it became active, when it already is active.
CREATE FUNCTION flowcontrol._active_at(doc jsonb, what text, default_active boolean, current timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	at timestamptz;
	already boolean := current IS NOT NULL AND current <= now();
BEGIN
	IF flowcontrol._typed(doc, 'active_at', 'string', what) IS NOT NULL THEN
		BEGIN
			at := (doc OPERATOR(pg_catalog.->>) 'active_at')::timestamptz;
		EXCEPTION WHEN data_exception THEN
			RAISE EXCEPTION 'key "active_at" in % must be a timestamp: %', what, SQLERRM
				USING ERRCODE = 'invalid_parameter_value';
		END;
		IF at <= now() AND already THEN
			RETURN current;
		END IF;
		RETURN at;
	END IF;
	IF coalesce((flowcontrol._typed(doc, 'active', 'boolean', what))::boolean, default_active) THEN
		RETURN CASE WHEN already THEN current ELSE now() END;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION flowcontrol._active_at(jsonb, text, boolean, timestamptz)
	IS 'internal: the active_at a flow document gives a flow or trigger';

-- "active" and, for a time in the future, "active_at", as documents show them.
CREATE FUNCTION flowcontrol._active_json(active_at timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN active_at > now()
		THEN jsonb_build_object('active', false, 'active_at', active_at)
		ELSE jsonb_build_object('active', coalesce(active_at <= now(), false)) END
$$;
COMMENT ON FUNCTION flowcontrol._active_json(timestamptz) IS 'internal: how a document shows when a flow or trigger is active';

-- "actions[1].children[0]": the canonical form of a path into a document's
-- action tree, or an error if it names no action of it.
CREATE FUNCTION flowcontrol._action_path(actions jsonb, path text, what text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m text[];
	level jsonb := actions;
	node jsonb;
	result text := 'actions';
	i integer;
BEGIN
	IF path !~ '^actions\[\d{1,9}\](\.children\[\d{1,9}\])*$' THEN
		RAISE EXCEPTION 'key "reset_to_action" in % must be a path like "actions[0].children[1]"', what
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR m IN SELECT regexp_matches(path, '\[(\d+)\]', 'g') LOOP
		i := m[1]::integer;
		node := level OPERATOR(pg_catalog.->) i;
		IF node IS NULL THEN
			RAISE EXCEPTION 'key "reset_to_action" in % names no action of the document: %', what, path
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		result := CASE WHEN result = 'actions' THEN format('actions[%s]', i)
					   ELSE format('%s.children[%s]', result, i) END;
		level := node OPERATOR(pg_catalog.->) 'children';
	END LOOP;
	RETURN result;
END
$$;
COMMENT ON FUNCTION flowcontrol._action_path(jsonb, text, text) IS 'internal: checks a path into the action tree of a flow document';

CREATE FUNCTION flowcontrol._canonical(definition jsonb, object_table regclass)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d jsonb := definition;
	k text;
	t jsonb;
	i integer := 0;
	what text;
	actions jsonb;
	triggers jsonb := '[]';
	trig jsonb;
BEGIN
	PERFORM flowcontrol._check_keys(d, 'flow definition',
		ARRAY['name', 'description', 'active', 'active_at', 'max_concurrent', 'max_per_object',
			  'max_concurrent_per_object', 'object_table', 'condition', 'actions', 'triggers']);
	IF flowcontrol._typed(d, 'name', 'string', 'flow definition') IS NULL THEN
		RAISE EXCEPTION 'key "name" is required in flow definition' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM flowcontrol._typed(d, 'object_table', 'string', 'flow definition');
	FOREACH k IN ARRAY ARRAY['max_concurrent', 'max_per_object', 'max_concurrent_per_object'] LOOP
		IF flowcontrol._typed(d, k, 'number', 'flow definition') IS NOT NULL
		   AND (d OPERATOR(pg_catalog.->>) k)::numeric OPERATOR(pg_catalog.<) 0 THEN
			RAISE EXCEPTION 'key "%" in flow definition must not be negative', k
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
	PERFORM flowcontrol._check_condition(
		flowcontrol._typed(d, 'condition', 'string', 'flow definition') OPERATOR(pg_catalog.#>>) '{}',
		'flow definition');
	actions := flowcontrol._canonical_actions(flowcontrol._typed(d, 'actions', 'array', 'flow definition'),
											   'actions');

	IF flowcontrol._typed(d, 'triggers', 'array', 'flow definition') IS NOT NULL THEN
		FOR t IN SELECT value FROM jsonb_array_elements(d OPERATOR(pg_catalog.->) 'triggers') LOOP
			what := format('triggers[%s]', i);
			PERFORM flowcontrol._check_keys(t, what, ARRAY['trigger_name', 'condition', 'create_flow', 'active',
															 'active_at', 'reset_to_action']);
			IF flowcontrol._typed(t, 'trigger_name', 'string', what) IS NULL THEN
				RAISE EXCEPTION 'key "trigger_name" is required in %', what USING ERRCODE = 'invalid_parameter_value';
			END IF;
			PERFORM flowcontrol._check_trigger(t OPERATOR(pg_catalog.->>) 'trigger_name', what);
			PERFORM flowcontrol._check_condition(
				flowcontrol._typed(t, 'condition', 'string', what) OPERATOR(pg_catalog.#>>) '{}', what);
			IF EXISTS (SELECT FROM jsonb_array_elements(triggers) x
					   WHERE x.value OPERATOR(pg_catalog.->>) 'trigger_name' OPERATOR(pg_catalog.=) (t OPERATOR(pg_catalog.->>) 'trigger_name')) THEN
				RAISE EXCEPTION 'trigger "%" appears twice in the triggers of the flow definition', t OPERATOR(pg_catalog.->>) 'trigger_name'
					USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The second is at %s.', what);
			END IF;
			trig := jsonb_build_object(
				'trigger_name', t OPERATOR(pg_catalog.->>) 'trigger_name',
				'condition', coalesce(flowcontrol._typed(t, 'condition', 'string', what) OPERATOR(pg_catalog.#>>) '{}', ''),
				'create_flow', coalesce((flowcontrol._typed(t, 'create_flow', 'boolean', what))::boolean, true))
				OPERATOR(pg_catalog.||) flowcontrol._active_json(flowcontrol._active_at(t, what, true, NULL));
			IF flowcontrol._typed(t, 'reset_to_action', 'string', what) IS NOT NULL THEN
				trig := trig OPERATOR(pg_catalog.||) jsonb_build_object('reset_to_action',
					flowcontrol._action_path(actions, t OPERATOR(pg_catalog.->>) 'reset_to_action', what));
			END IF;
			triggers := triggers OPERATOR(pg_catalog.||) jsonb_build_array(trig);
			i := i OPERATOR(pg_catalog.+) 1;
		END LOOP;
	END IF;

	RETURN jsonb_build_object(
		'name', d OPERATOR(pg_catalog.->>) 'name',
		'description', coalesce(flowcontrol._typed(d, 'description', 'string', 'flow definition') OPERATOR(pg_catalog.#>>) '{}', ''),
		'max_concurrent', coalesce((flowcontrol._typed(d, 'max_concurrent', 'number', 'flow definition'))::integer, 0),
		'max_per_object', coalesce((flowcontrol._typed(d, 'max_per_object', 'number', 'flow definition'))::integer, 0),
		'max_concurrent_per_object', coalesce((flowcontrol._typed(d, 'max_concurrent_per_object', 'number', 'flow definition'))::integer, 1),
		'object_table', _canonical.object_table::text,
		'condition', coalesce(flowcontrol._typed(d, 'condition', 'string', 'flow definition') OPERATOR(pg_catalog.#>>) '{}', ''),
		'actions', actions,
		'triggers', (SELECT coalesce(jsonb_agg(x.value ORDER BY x.value OPERATOR(pg_catalog.->>) 'trigger_name'), '[]')
					 FROM jsonb_array_elements(triggers) x))
		OPERATOR(pg_catalog.||) flowcontrol._active_json(flowcontrol._active_at(d, 'flow definition', false, NULL));
END
$$;
COMMENT ON FUNCTION flowcontrol._canonical(jsonb, regclass) IS 'internal: checks a flow document and returns it in the form export_flow() gives';

-- Insert a canonical action tree as the flow's current version; returns
-- the new actions' ids by path ("actions[1].children[0]").
CREATE FUNCTION flowcontrol._define_actions(flow_id bigint, parent_id bigint, actions jsonb, path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	item jsonb;
	i integer := 0;
	what text;
	new_id bigint;
	ids jsonb := '{}';
BEGIN
	FOR item IN SELECT value FROM jsonb_array_elements(actions) LOOP
		what := format('%s[%s]', path, i);
		INSERT INTO flowcontrol.flow_action AS a (flow_id, parent_id, position, action, config, description,
												 timeout, retry)
		VALUES (_define_actions.flow_id, _define_actions.parent_id, i,
				item OPERATOR(pg_catalog.->>) 'action', item OPERATOR(pg_catalog.->) 'config',
				item OPERATOR(pg_catalog.->>) 'description',
				flowcontrol._action_timeout(item, what), flowcontrol._action_retry(item, what))
		RETURNING a.id INTO new_id;
		ids := ids OPERATOR(pg_catalog.||) jsonb_build_object(what, new_id)
			OPERATOR(pg_catalog.||) flowcontrol._define_actions(_define_actions.flow_id, new_id,
				item OPERATOR(pg_catalog.->) 'children', what OPERATOR(pg_catalog.||) '.children');
		i := i OPERATOR(pg_catalog.+) 1;
	END LOOP;
	RETURN ids;
END
$$;
COMMENT ON FUNCTION flowcontrol._define_actions(bigint, bigint, jsonb, text) IS 'internal: the action tree part of define_flow()';

-- Bind the flow to the document's triggers: existing bindings of the same
-- names are updated in place (their ids, which WaitForTriggerAction
-- configs and waiting runs refer to, stay), others added, the rest removed
-- -- unless a run waits for them or an action that is kept refers to them.
CREATE FUNCTION flowcontrol._define_triggers(flow_id bigint, owner regrole, triggers jsonb, action_ids jsonb,
											 definition jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t jsonb;
	i integer := 0;
	what text;
	b flowcontrol.trigger;
	reset_id bigint;
	src jsonb;
BEGIN
	FOR t IN SELECT value FROM jsonb_array_elements(triggers) LOOP
		what := format('triggers[%s]', i);
		-- the document's own trigger entry: for its "active_at"
		SELECT x.value INTO src FROM jsonb_array_elements(definition OPERATOR(pg_catalog.->) 'triggers') x
		WHERE x.value OPERATOR(pg_catalog.->>) 'trigger_name' OPERATOR(pg_catalog.=) (t OPERATOR(pg_catalog.->>) 'trigger_name');
		reset_id := (action_ids OPERATOR(pg_catalog.->>) (t OPERATOR(pg_catalog.->>) 'reset_to_action'))::bigint;
		SELECT * INTO b FROM flowcontrol.trigger x
		WHERE x.flow_id OPERATOR(pg_catalog.=) _define_triggers.flow_id
		  AND x.trigger_name OPERATOR(pg_catalog.=) (t OPERATOR(pg_catalog.->>) 'trigger_name')
		FOR NO KEY UPDATE;
		IF FOUND THEN
			UPDATE flowcontrol.trigger x
			SET create_flow = (t OPERATOR(pg_catalog.->>) 'create_flow')::boolean,
				condition = t OPERATOR(pg_catalog.->>) 'condition',
				active_at = flowcontrol._active_at(src, what, true, b.active_at),
				reset_to_action_id = reset_id
			WHERE x.id OPERATOR(pg_catalog.=) b.id;
		ELSE
			INSERT INTO flowcontrol.trigger (trigger_name, flow_id, create_flow, condition, active_at,
											 reset_to_action_id, owner)
			VALUES (t OPERATOR(pg_catalog.->>) 'trigger_name', _define_triggers.flow_id,
					(t OPERATOR(pg_catalog.->>) 'create_flow')::boolean, t OPERATOR(pg_catalog.->>) 'condition',
					flowcontrol._active_at(src, what, true, NULL), reset_id, _define_triggers.owner);
		END IF;
		i := i OPERATOR(pg_catalog.+) 1;
	END LOOP;

	FOR b IN SELECT * FROM flowcontrol.trigger x
			   WHERE x.flow_id OPERATOR(pg_catalog.=) _define_triggers.flow_id
				 AND NOT EXISTS (SELECT FROM jsonb_array_elements(triggers) y
								 WHERE y.value OPERATOR(pg_catalog.->>) 'trigger_name' OPERATOR(pg_catalog.=) x.trigger_name)
			   ORDER BY x.id FOR UPDATE
	LOOP
		IF EXISTS (SELECT FROM flowcontrol.flow_run r WHERE r.waiting_trigger_id OPERATOR(pg_catalog.=) b.id
				   AND r.status OPERATOR(pg_catalog.<>) 'done') THEN
			RAISE EXCEPTION 'cannot remove trigger % "%" from flow %: runs are waiting for it', b.id, b.trigger_name, flow_id
				USING ERRCODE = 'object_in_use',
					  HINT = 'Keep the trigger in the document until those runs are done, or end them first.';
		END IF;
		IF EXISTS (SELECT FROM flowcontrol.flow_action a WHERE a.action OPERATOR(pg_catalog.=) 'WaitForTriggerAction'
				   AND a.config OPERATOR(pg_catalog.->>) 'trigger' OPERATOR(pg_catalog.=) b.id::text) THEN
			RAISE EXCEPTION 'cannot remove trigger % "%" from flow %: a WaitForTriggerAction waits for it', b.id, b.trigger_name, flow_id
				USING ERRCODE = 'object_in_use',
					  HINT = 'Keep the trigger in the document while actions (of any version still in use) wait for it.';
		END IF;
		DELETE FROM flowcontrol.trigger x WHERE x.id OPERATOR(pg_catalog.=) b.id;
	END LOOP;
END
$$;
COMMENT ON FUNCTION flowcontrol._define_triggers(bigint, regrole, jsonb, jsonb, jsonb) IS 'internal: the triggers part of define_flow()';

CREATE FUNCTION flowcontrol._define_flow(definition jsonb, object_table regclass, replace boolean)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d jsonb := definition;
	canon jsonb := flowcontrol._canonical(definition, object_table);
	f flowcontrol.flow;
	ids bigint[];
	action_ids jsonb;
	current_doc jsonb;
BEGIN
	IF replace THEN
		-- the flows of that name the caller may change (row-level security)
		SELECT array_agg(x.id ORDER BY x.id) INTO ids FROM flowcontrol.flow x
		WHERE x.name OPERATOR(pg_catalog.=) (d OPERATOR(pg_catalog.->>) 'name');
		IF cardinality(ids) > 1 THEN
			RAISE EXCEPTION 'cannot replace flow "%": there are % flows of that name', d OPERATOR(pg_catalog.->>) 'name', cardinality(ids)
				USING ERRCODE = 'ambiguous_parameter',
					  DETAIL = format('Flows %s have that name.', array_to_string(ids, ', ')),
					  HINT = 'Rename or delete all but one of them, or deploy as the role that owns one (SET ROLE).';
		END IF;
		SELECT * INTO f FROM flowcontrol.flow x WHERE x.id OPERATOR(pg_catalog.=) ids[1] FOR NO KEY UPDATE;
	END IF;

	IF f.id IS NULL THEN
		INSERT INTO flowcontrol.flow AS x (name, description, active_at, max_concurrent, max_per_object,
										   max_concurrent_per_object, object_table, condition)
		VALUES (canon OPERATOR(pg_catalog.->>) 'name', canon OPERATOR(pg_catalog.->>) 'description',
				flowcontrol._active_at(d, 'flow definition', false, NULL),
				(canon OPERATOR(pg_catalog.->>) 'max_concurrent')::integer,
				(canon OPERATOR(pg_catalog.->>) 'max_per_object')::integer,
				(canon OPERATOR(pg_catalog.->>) 'max_concurrent_per_object')::integer,
				_define_flow.object_table, canon OPERATOR(pg_catalog.->>) 'condition')
		RETURNING * INTO f;
	ELSE
		-- an unchanged document changes nothing
		current_doc := flowcontrol.export_flow(f.id);
		IF current_doc OPERATOR(pg_catalog.=) canon THEN
			RETURN f.id;
		END IF;
		PERFORM flowcontrol._new_version(f.id, current_doc);
		UPDATE flowcontrol.flow x
		SET name = canon OPERATOR(pg_catalog.->>) 'name',
			description = canon OPERATOR(pg_catalog.->>) 'description',
			active_at = flowcontrol._active_at(d, 'flow definition', false, f.active_at),
			max_concurrent = (canon OPERATOR(pg_catalog.->>) 'max_concurrent')::integer,
			max_per_object = (canon OPERATOR(pg_catalog.->>) 'max_per_object')::integer,
			max_concurrent_per_object = (canon OPERATOR(pg_catalog.->>) 'max_concurrent_per_object')::integer,
			object_table = _define_flow.object_table,
			condition = canon OPERATOR(pg_catalog.->>) 'condition'
		WHERE x.id OPERATOR(pg_catalog.=) f.id;
	END IF;

	action_ids := flowcontrol._define_actions(f.id, NULL, canon OPERATOR(pg_catalog.->) 'actions', 'actions');
	IF replace THEN
		-- earlier versions no run uses any more go first: they keep no trigger
		PERFORM flowcontrol._prune_versions(f.id);
	END IF;
	PERFORM flowcontrol._define_triggers(f.id, f.owner, canon OPERATOR(pg_catalog.->) 'triggers', action_ids, d);
	RETURN f.id;
END
$$;
COMMENT ON FUNCTION flowcontrol._define_flow(jsonb, regclass, boolean) IS 'internal: define_flow() once object_table is resolved';

CREATE FUNCTION flowcontrol._new_version(flow_id bigint, definition jsonb) RETURNS integer
AS 'MODULE_PATHNAME', 'flowcontrol__new_version' LANGUAGE C STRICT;
COMMENT ON FUNCTION flowcontrol._new_version(bigint, jsonb)
	IS 'internal: keeps the flow''s current version (its document and actions) and makes a new one current';

CREATE FUNCTION flowcontrol._prune_versions(flow_id bigint) RETURNS integer
AS 'MODULE_PATHNAME', 'flowcontrol__prune_versions' LANGUAGE C STRICT;
COMMENT ON FUNCTION flowcontrol._prune_versions(bigint)
	IS 'internal: removes the earlier versions of a flow (and their actions) that no run that is not done uses; returns how many';

-- C, so that its errors reach the caller without the CONTEXT lines of the
-- internal functions; "object_table" is looked up in the caller's search
-- path.
CREATE FUNCTION flowcontrol.define_flow(definition jsonb, replace boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'flowcontrol_define_flow' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol.define_flow(jsonb, boolean)
	IS 'creates a whole flow (actions and triggers) from one JSON document, or with replace deploys it as a new version of the caller''s flow of that name; returns its id';

CREATE FUNCTION flowcontrol._export_actions(flow_id bigint, version integer, parent_id bigint)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object(
				'action', a.action,
				'config', a.config,
				'description', a.description,
				'children', flowcontrol._export_actions(a.flow_id, a.flow_version, a.id))
			-- the time limit and retry policy only where an action has them
			OPERATOR(pg_catalog.||) jsonb_strip_nulls(jsonb_build_object(
				'timeout', pg_catalog.date_part('epoch', a.timeout),
				'retry', a.retry))
			ORDER BY a.position, a.id), '[]')
	FROM flowcontrol.flow_action a
	WHERE a.flow_id OPERATOR(pg_catalog.=) $1 AND a.flow_version OPERATOR(pg_catalog.=) $2
	  AND a.parent_id IS NOT DISTINCT FROM $3
$$;
COMMENT ON FUNCTION flowcontrol._export_actions(bigint, integer, bigint) IS 'internal: the action tree part of export_flow()';

-- "actions[1].children[0]": where an action is in its version's tree.
CREATE FUNCTION flowcontrol._export_path(action_id bigint)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE up AS (
		SELECT a.id, a.parent_id, a.flow_id, a.flow_version, a.position, 0 AS depth
		FROM flowcontrol.flow_action a WHERE a.id = $1
		UNION ALL
		SELECT p.id, p.parent_id, p.flow_id, p.flow_version, p.position, up.depth + 1
		FROM flowcontrol.flow_action p JOIN up ON p.id = up.parent_id)
	SELECT string_agg(format(CASE WHEN u.parent_id IS NULL THEN 'actions[%s]' ELSE '.children[%s]' END,
							 (SELECT count(*) FROM flowcontrol.flow_action s
							  WHERE s.flow_id = u.flow_id AND s.flow_version = u.flow_version
								AND s.parent_id IS NOT DISTINCT FROM u.parent_id
								AND (s.position, s.id) < (u.position, u.id))),
					  '' ORDER BY u.depth DESC)
	FROM up u
$$;
COMMENT ON FUNCTION flowcontrol._export_path(bigint) IS 'internal: the path of an action in a flow document';

-- The document of an earlier version of a flow while it is kept, or an
-- error; export_flow() and flow_diagram() show earlier versions with it.
CREATE FUNCTION flowcontrol._kept_version(flow_id bigint, current integer, version integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	doc jsonb;
BEGIN
	SELECT v.definition INTO doc FROM flowcontrol.flow_version v
	WHERE v.flow_id OPERATOR(pg_catalog.=) _kept_version.flow_id
	  AND v.version OPERATOR(pg_catalog.=) _kept_version.version;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'version % of flow % does not exist', _kept_version.version, _kept_version.flow_id
			USING ERRCODE = 'undefined_object',
				  DETAIL = format('The flow is at version %s; earlier versions are kept only while runs that are not done use them.', current);
	END IF;
	RETURN doc;
END
$$;
COMMENT ON FUNCTION flowcontrol._kept_version(bigint, integer, integer)
	IS 'internal: the document of a kept earlier version of a flow';

CREATE FUNCTION flowcontrol.export_flow(flow_id bigint, version integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f flowcontrol.flow;
BEGIN
	SELECT * INTO f FROM flowcontrol.flow x WHERE x.id OPERATOR(pg_catalog.=) export_flow.flow_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'flow % does not exist', export_flow.flow_id USING ERRCODE = 'undefined_object';
	END IF;
	IF export_flow.version IS NOT NULL AND export_flow.version OPERATOR(pg_catalog.<>) f.version THEN
		RETURN flowcontrol._kept_version(f.id, f.version, export_flow.version);
	END IF;
	RETURN jsonb_build_object(
		'name', f.name,
		'description', f.description,
		'max_concurrent', f.max_concurrent,
		'max_per_object', f.max_per_object,
		'max_concurrent_per_object', f.max_concurrent_per_object,
		'object_table', f.object_table::text,
		'condition', f.condition,
		'actions', flowcontrol._export_actions(f.id, f.version, NULL),
		'triggers', (SELECT coalesce(jsonb_agg(jsonb_build_object(
							'trigger_name', t.trigger_name,
							'condition', t.condition,
							'create_flow', t.create_flow)
							OPERATOR(pg_catalog.||) flowcontrol._active_json(t.active_at)
							OPERATOR(pg_catalog.||) CASE WHEN t.reset_to_action_id IS NULL THEN '{}'::jsonb
								ELSE jsonb_build_object('reset_to_action', flowcontrol._export_path(t.reset_to_action_id)) END
						ORDER BY t.trigger_name), '[]')
					 FROM flowcontrol.trigger t WHERE t.flow_id OPERATOR(pg_catalog.=) f.id))
		OPERATOR(pg_catalog.||) flowcontrol._active_json(f.active_at);
END
$$;
COMMENT ON FUNCTION flowcontrol.export_flow(bigint, integer)
	IS 'a flow (its current version, or an earlier one while it is kept) as one JSON document, as define_flow() takes it';

CREATE FUNCTION flowcontrol.delete_flow(flow_id bigint, cancel_runs boolean DEFAULT false) RETURNS void
AS 'MODULE_PATHNAME', 'flowcontrol_delete_flow' LANGUAGE C CALLED ON NULL INPUT;
COMMENT ON FUNCTION flowcontrol.delete_flow(bigint, boolean)
	IS 'deletes a flow with its actions, triggers and runs; refused while runs are not done, unless cancel_runs cancels them first';

CREATE FUNCTION flowcontrol.activate_flow(flow_id bigint, at timestamptz DEFAULT now())
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE flowcontrol.flow f SET active_at = coalesce(activate_flow.at, now())
	WHERE f.id OPERATOR(pg_catalog.=) activate_flow.flow_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'flow % does not exist', activate_flow.flow_id USING ERRCODE = 'undefined_object';
	END IF;
END
$$;
COMMENT ON FUNCTION flowcontrol.activate_flow(bigint, timestamptz) IS 'makes a flow active from the given time on';

CREATE FUNCTION flowcontrol.deactivate_flow(flow_id bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE flowcontrol.flow f SET active_at = NULL WHERE f.id OPERATOR(pg_catalog.=) deactivate_flow.flow_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'flow % does not exist', deactivate_flow.flow_id USING ERRCODE = 'undefined_object';
	END IF;
END
$$;
COMMENT ON FUNCTION flowcontrol.deactivate_flow(bigint) IS 'makes a flow inactive: no new runs are created';

---------------------------------------------------------------------------
-- Diagrams
---------------------------------------------------------------------------

CREATE FUNCTION flowcontrol._action_label(action text, config jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT left(CASE
		WHEN action IN ('IfAction', 'WhileLoopAction') THEN coalesce(nullif(config->>'condition', ''), 'False')
		WHEN action IN ('LeaveAction', 'BreakAction') THEN
			CASE WHEN coalesce(config->>'condition', '') = '' THEN 'always' ELSE 'if ' || (config->>'condition') END
		WHEN action = 'ForLoopAction' THEN
			format('%s from %s to %s', coalesce(nullif(config->>'var_name', ''), 'counter'),
				   coalesce(config->>'start', '0'), coalesce(config->>'end', '0'))
			|| CASE WHEN coalesce((config->>'step')::int, 1) <> 1 THEN ' step ' || (config->>'step') ELSE '' END
		WHEN action IN ('SetStateAction', 'UpdateStateAction') THEN
			coalesce((SELECT string_agg(format('%s = %s', key,
						CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' ELSE value::text END), ', ' ORDER BY key)
					  FROM jsonb_each(config->'state')), '')
		WHEN action = 'StartFlowAction' THEN 'flow ' || (config->>'start_flow')
			|| CASE WHEN (config->>'immediate')::boolean THEN ', immediate' ELSE '' END
		WHEN action = 'DelayAction' THEN
			concat_ws(', ',
				nullif(config->>'base_date_template', ''),
				CASE WHEN config ? 'months' THEN '+' || (config->>'months') || ' months' END,
				CASE WHEN config ? 'seconds' THEN '+' || (config->>'seconds') || ' s' END,
				CASE WHEN config ? 'weekday' THEN (ARRAY['Mon','Tue','Wed','Thu','Fri','Sat','Sun'])[(config->>'weekday')::int + 1] END,
				CASE WHEN config ? 'time' THEN 'at ' || (config->>'time') END,
				config->>'timezone')
		WHEN action = 'WaitForTriggerAction' THEN 'trigger ' || (config->>'trigger')
		WHEN action = 'SendAlertAction' THEN coalesce(nullif(config->>'subject', ''), config->>'body', '')
		WHEN action = 'AbortAction' THEN ''
		WHEN config = '{}' THEN ''
		ELSE config::text
	END, 80)
$$;
COMMENT ON FUNCTION flowcontrol._action_label(text, jsonb) IS 'internal: the short description of an action flow_diagram() shows';

CREATE FUNCTION flowcontrol.flow_diagram(flow_id bigint, format text DEFAULT 'mermaid', version integer DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f record;
	a record;
	dot boolean;
	lines text[] := '{}';
	info jsonb := '{}';		-- id -> {parent, next, first, loop, node}
	target text;
	cur text;
	label text;
	shape text;
	n record;
	v integer;
	fname text;
	fcondition text;
BEGIN
	IF format IS NULL OR lower(format) NOT IN ('mermaid', 'dot') THEN
		RAISE EXCEPTION 'unknown diagram format "%"', format
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Formats are mermaid and dot.';
	END IF;
	dot := lower(format) = 'dot';
	SELECT * INTO f FROM flowcontrol.flow x WHERE x.id = flow_diagram.flow_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'flow % does not exist', flow_diagram.flow_id USING ERRCODE = 'undefined_object';
	END IF;
	-- the version drawn: the current one, or an earlier one while it is kept
	v := coalesce(flow_diagram.version, f.version);
	fname := f.name;
	fcondition := f.condition;
	IF v <> f.version THEN
		SELECT d->>'name', d->>'condition' INTO fname, fcondition
		FROM flowcontrol._kept_version(f.id, f.version, v) d;
	END IF;

	-- the tree: each action's parent, next sibling and first child, and
	-- its node name, numbered depth first
	FOR a IN
		WITH RECURSIVE x AS (
			SELECT y.id, y.parent_id, y.action, y.position,
				   lead(y.id) OVER (PARTITION BY y.parent_id ORDER BY y.position, y.id) AS next_id,
				   (SELECT c.id FROM flowcontrol.flow_action c WHERE c.parent_id = y.id
					ORDER BY c.position, c.id LIMIT 1) AS first_id
			FROM flowcontrol.flow_action y WHERE y.flow_id = flow_diagram.flow_id AND y.flow_version = v),
		tree AS (
			SELECT x.*, ARRAY[x.position::bigint, x.id] AS path FROM x WHERE x.parent_id IS NULL
			UNION ALL
			SELECT x.*, tree.path || ARRAY[x.position::bigint, x.id] FROM x JOIN tree ON x.parent_id = tree.id)
		SELECT tree.*, row_number() OVER (ORDER BY tree.path) AS n FROM tree
	LOOP
		info := info || jsonb_build_object(a.id::text, jsonb_build_object(
			'parent', a.parent_id, 'next', a.next_id, 'first', a.first_id, 'node', 'n' || a.n,
			'loop', a.action IN ('WhileLoopAction', 'ForLoopAction')));
	END LOOP;

	IF dot THEN
		lines := lines || 'digraph flow {'::text || '  rankdir=TB;'::text
			|| '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];'::text
			|| '  edge [fontname="Helvetica", fontsize=9];'::text
			|| format('  start [shape=oval, style=filled, fillcolor="#e8e8e8", label="%s"];',
					  flowcontrol._dot_escape(fname || CASE WHEN fcondition <> '' THEN E'\nif ' || fcondition ELSE '' END));
	ELSE
		lines := lines || 'flowchart TD'::text
			|| format('    start(["%s"])',
					  flowcontrol._mermaid_escape(fname || CASE WHEN fcondition <> '' THEN E'\nif ' || fcondition ELSE '' END));
	END IF;

	-- nodes
	FOR a IN
		SELECT x.id, x.action, x.config, x.description,
			   -- a trigger is shown by its name
			   CASE WHEN x.action = 'WaitForTriggerAction' THEN
					(SELECT format('trigger %s (%s)', t.trigger_name, t.id) FROM flowcontrol.trigger t
					 WHERE t.id::text = x.config->>'trigger') END AS trigger_label
		FROM flowcontrol.flow_action x WHERE x.flow_id = flow_diagram.flow_id AND x.flow_version = v
		ORDER BY substr(info->x.id::text->>'node', 2)::int
	LOOP
		label := a.action;
		IF a.trigger_label IS NOT NULL THEN
			label := label || E'\n' || a.trigger_label;
		ELSIF flowcontrol._action_label(a.action, a.config) <> '' THEN
			label := label || E'\n' || flowcontrol._action_label(a.action, a.config);
		END IF;
		IF a.description <> '' THEN
			label := label || E'\n' || a.description;
		END IF;
		IF dot THEN
			shape := CASE WHEN a.action IN ('IfAction', 'WhileLoopAction') THEN 'diamond'
						  WHEN a.action = 'ForLoopAction' THEN 'hexagon'
						  WHEN a.action IN ('DelayAction', 'WaitForTriggerAction') THEN 'parallelogram'
						  ELSE 'box' END;
			lines := lines || format('  %s [shape=%s, label="%s"];', info->a.id::text->>'node', shape,
									 flowcontrol._dot_escape(label));
		ELSE
			lines := lines || format(CASE WHEN a.action IN ('IfAction', 'WhileLoopAction') THEN '    %s{"%s"}'
										  WHEN a.action = 'ForLoopAction' THEN '    %s{{"%s"}}'
										  WHEN a.action IN ('DelayAction', 'WaitForTriggerAction') THEN '    %s[/"%s"/]'
										  ELSE '    %s["%s"]' END,
									 info->a.id::text->>'node', flowcontrol._mermaid_escape(label));
		END IF;
	END LOOP;
	IF dot THEN
		lines := lines || '  stop [shape=oval, style=filled, fillcolor="#e8e8e8", label="end"];'::text;
	ELSE
		lines := lines || '    stop(["end"])'::text;
	END IF;

	-- edges: into the first root, into children, on to the next action
	SELECT info->x.id::text->>'node' INTO target FROM flowcontrol.flow_action x
	WHERE x.flow_id = flow_diagram.flow_id AND x.flow_version = v AND x.parent_id IS NULL
	ORDER BY x.position, x.id LIMIT 1;
	lines := lines || flowcontrol._diagram_edge(dot, 'start', coalesce(target, 'stop'), NULL, false);
	FOR a IN
		SELECT x.id, x.action, x.config, info->x.id::text->>'node' AS node
		FROM flowcontrol.flow_action x WHERE x.flow_id = flow_diagram.flow_id AND x.flow_version = v
		ORDER BY substr(info->x.id::text->>'node', 2)::int
	LOOP
		IF info->a.id::text->>'first' IS NOT NULL THEN
			lines := lines || flowcontrol._diagram_edge(dot, a.node, info->(info->a.id::text->>'first')->>'node',
				CASE a.action WHEN 'IfAction' THEN 'true' WHEN 'WhileLoopAction' THEN 'while true'
							  WHEN 'ForLoopAction' THEN 'each' ELSE 'enter' END, false);
		END IF;
		IF a.action = 'AbortAction' THEN
			lines := lines || flowcontrol._diagram_edge(dot, a.node, 'stop', 'abort', true);
			CONTINUE;
		END IF;
		-- where control goes when this action continues
		n := flowcontrol._diagram_next(info, a.id::text);
		label := CASE WHEN a.action IN ('IfAction', 'WhileLoopAction') THEN 'false'
					  WHEN a.action = 'ForLoopAction' THEN 'done'
					  WHEN n.via_loop THEN 'repeat' END;
		-- an unconditional leave or break never continues
		IF a.action NOT IN ('LeaveAction', 'BreakAction') OR coalesce(a.config->>'condition', '') <> '' THEN
			lines := lines || flowcontrol._diagram_edge(dot, a.node, n.target, label, n.via_loop);
		END IF;
		-- leave returns to the parent, break goes on after it
		IF a.action IN ('LeaveAction', 'BreakAction') THEN
			cur := info->a.id::text->>'parent';
			IF cur IS NULL THEN
				lines := lines || flowcontrol._diagram_edge(dot, a.node, 'stop', lower(left(a.action, -6)), true);
			ELSIF a.action = 'LeaveAction' AND (info->cur->>'loop')::boolean THEN
				lines := lines || flowcontrol._diagram_edge(dot, a.node, info->cur->>'node', 'leave', true);
			ELSE
				n := flowcontrol._diagram_next(info, cur);
				lines := lines || flowcontrol._diagram_edge(dot, a.node, n.target, lower(left(a.action, -6)), true);
			END IF;
		END IF;
	END LOOP;

	IF dot THEN
		lines := lines || '}'::text;
	END IF;
	RETURN array_to_string(lines, E'\n');
END
$$;
COMMENT ON FUNCTION flowcontrol.flow_diagram(bigint, text, integer)
	IS 'the action tree of a flow''s current version (or of an earlier one while it is kept) as a Mermaid (default) or Graphviz DOT diagram';

CREATE FUNCTION flowcontrol._diagram_next(info jsonb, id text, OUT target text, OUT via_loop boolean)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur text := id;
BEGIN
	via_loop := false;
	LOOP
		IF info->cur->>'next' IS NOT NULL THEN
			target := info->(info->cur->>'next')->>'node';
			RETURN;
		END IF;
		IF info->cur->>'parent' IS NULL THEN
			target := 'stop';
			RETURN;
		END IF;
		cur := info->cur->>'parent';
		IF (info->cur->>'loop')::boolean THEN
			target := info->cur->>'node';
			via_loop := true;
			RETURN;
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION flowcontrol._diagram_next(jsonb, text)
	IS 'internal: where flow_diagram() draws control going after an action continues';

CREATE FUNCTION flowcontrol._mermaid_escape(label text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT replace(replace(replace(replace(replace(replace(label,
		'#', '#35;'), '"', '#quot;'), '<', '#lt;'), '>', '#gt;'), '|', '#124;'), E'\n', '<br/>')
$$;
COMMENT ON FUNCTION flowcontrol._mermaid_escape(text) IS 'internal: a label for a quoted Mermaid node';

CREATE FUNCTION flowcontrol._dot_escape(label text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT replace(replace(replace(label, E'\\', E'\\\\'), '"', E'\\"'), E'\n', E'\\n')
$$;
COMMENT ON FUNCTION flowcontrol._dot_escape(text) IS 'internal: a label for a quoted Graphviz string';

CREATE FUNCTION flowcontrol._diagram_edge(dot boolean, source text, target text, label text, dashed boolean)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN dot THEN
		format('  %s -> %s', source, target)
		|| CASE WHEN label IS NOT NULL OR dashed THEN
			' [' || concat_ws(', ', CASE WHEN label IS NOT NULL THEN format('label="%s"', flowcontrol._dot_escape(label)) END,
							  CASE WHEN dashed THEN 'style=dashed' END) || ']'
		   ELSE '' END || ';'
	ELSE
		format('    %s %s%s %s', source, CASE WHEN dashed THEN '-.->' ELSE '-->' END,
			   CASE WHEN label IS NOT NULL THEN '|' || flowcontrol._mermaid_escape(label) || '|' ELSE '' END, target)
	END
$$;
COMMENT ON FUNCTION flowcontrol._diagram_edge(boolean, text, text, text, boolean) IS 'internal: one edge of a flow_diagram()';

---------------------------------------------------------------------------
-- Background worker (src/worker.c, doc/worker.md)
---------------------------------------------------------------------------

CREATE FUNCTION flowcontrol._worker_status(
	OUT worker integer, OUT pid integer, OUT datid oid, OUT state text,
	OUT runs_executed bigint, OUT errors bigint, OUT last_error text,
	OUT started_at timestamptz, OUT last_wakeup timestamptz, OUT next_wakeup timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'flowcontrol__worker_status' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION flowcontrol._worker_status()
	IS 'state of the background launcher and workers, read from shared memory (no rows unless preloaded); see the view flowcontrol.workers';

CREATE VIEW flowcontrol.workers WITH (security_invoker = true) AS
	SELECT w.worker, w.pid, d.datname AS database, w.state, w.runs_executed, w.errors, w.last_error,
		   w.started_at, w.last_wakeup, w.next_wakeup
	FROM flowcontrol._worker_status() w
	LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) w.datid;
COMMENT ON VIEW flowcontrol.workers IS 'the background launcher (worker 0) and workers: one row per running process';
COMMENT ON COLUMN flowcontrol.workers.worker IS 'worker number (1 .. flowcontrol.max_workers); 0 is the launcher';
COMMENT ON COLUMN flowcontrol.workers.pid IS 'process id, as in pg_stat_activity';
COMMENT ON COLUMN flowcontrol.workers.database IS 'the database a worker is connected to (it serves that one until it exits); NULL for the launcher';
COMMENT ON COLUMN flowcontrol.workers.state IS 'starting, idle, running, disabled, waiting for extension, waiting for database, waiting for role, paused for DROP DATABASE, pausing after error, waiting for a background worker slot, or leaving';
COMMENT ON COLUMN flowcontrol.workers.runs_executed IS 'runs this process has executed since it started (0 for the launcher)';
COMMENT ON COLUMN flowcontrol.workers.errors IS 'errors that escaped a unit of work (workers) or workers that failed soon after starting (launcher); failures inside runs are recorded on the runs instead';
COMMENT ON COLUMN flowcontrol.workers.last_error IS 'message of the last error counted in errors, or NULL';
COMMENT ON COLUMN flowcontrol.workers.started_at IS 'when the process started';
COMMENT ON COLUMN flowcontrol.workers.last_wakeup IS 'when the process last woke up to look for work';
COMMENT ON COLUMN flowcontrol.workers.next_wakeup IS 'when it will look again unless woken sooner by a commit; NULL while working, or when it waits to be woken';

---------------------------------------------------------------------------
-- Privileges (keep this section last): nothing is granted to PUBLIC.  An
-- administrator grants USAGE on the schema and EXECUTE / table privileges
-- to the roles that define or start flows (see README.md).
---------------------------------------------------------------------------

DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
			 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'flowcontrol'::regnamespace
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$$;
