-- The seed's pytest fixtures (tests/conftest.py) as SQL helpers, for the
-- seed_* test files that port the seed's tests one block per test.
-- auth_user and auth_group stand for the Django models; each block starts
-- with seed_fresh(), the fresh database each seed test gets: no run of an
-- earlier test left to execute, no flow or trigger of one still active.
CREATE TABLE auth_user (id serial PRIMARY KEY, username text NOT NULL);
CREATE TABLE auth_group (id serial PRIMARY KEY, name text NOT NULL);

CREATE FUNCTION seed_fresh() RETURNS void LANGUAGE sql AS $$
	UPDATE flowcontrol.flow_run SET status = 'done', outcome = 'canceled', done_at = now()
	WHERE status <> 'done';
	UPDATE flowcontrol.flow SET active_at = NULL WHERE active_at IS NOT NULL;
	UPDATE flowcontrol.trigger SET active_at = NULL WHERE active_at IS NOT NULL;
	DELETE FROM auth_user;
$$;

-- fixture "flow": a flow with a content type (object_table) and a condition
CREATE FUNCTION seed_flow() RETURNS bigint LANGUAGE sql AS $$
	SELECT flowcontrol.define_flow('{"name": "Test Flow", "active": true,
		"object_table": "auth_user", "condition": "1 == 1"}')
$$;
-- fixture "other_flow"
CREATE FUNCTION seed_other_flow() RETURNS bigint LANGUAGE sql AS $$
	SELECT flowcontrol.define_flow('{"name": "Other Flow", "active": true}')
$$;
-- fixtures "user" and "admin_user": a row's key, as object_id
CREATE FUNCTION seed_user(username text DEFAULT 'testuser') RETURNS text LANGUAGE sql AS $$
	INSERT INTO auth_user (username) VALUES (username) RETURNING id::text
$$;
-- fixture "trigger": bound to the flow, creating runs
CREATE FUNCTION seed_trigger(flow_id bigint) RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO flowcontrol.trigger (flow_id, trigger_name, active_at)
	VALUES (flow_id, 'trigger_name', now()) RETURNING id
$$;
-- fixture "wait_trigger": no flow, wakes waiting runs
CREATE FUNCTION seed_wait_trigger() RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO flowcontrol.trigger (flow_id, trigger_name, active_at, create_flow)
	VALUES (NULL, 'wait_trigger_name', now(), false) RETURNING id
$$;
-- fixture "flowrun": a pending run of the flow for the user, inserted as is
CREATE FUNCTION seed_flowrun(flow_id bigint, user_id text) RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO flowcontrol.flow_run (flow_id, object_table, object_id, state, status)
	VALUES (flow_id, 'auth_user', user_id, '{}', 'pending') RETURNING id
$$;
-- flowcontrol.utils.make_action_tree: [{"action", "config", "children"}]
CREATE FUNCTION make_action_tree(flow_id bigint, nodes jsonb, parent_id bigint DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	node jsonb;
	id bigint;
BEGIN
	FOR node IN SELECT value FROM jsonb_array_elements(nodes) LOOP
		id := flowcontrol.add_action(flow_id, node->>'action', coalesce(node->'config', '{}'), parent_id);
		PERFORM make_action_tree(flow_id, coalesce(node->'children', '[]'), id);
	END LOOP;
END
$$;
-- fixture "flow_action": the flow's first action, a SetStateAction
CREATE FUNCTION seed_flow_action(flow_id bigint) RETURNS bigint LANGUAGE sql AS $$
	SELECT make_action_tree(flow_id, '[{"action": "SetStateAction", "config": {"state": {"foo": "bar"}}}]');
	SELECT min(id) FROM flowcontrol.flow_action a WHERE a.flow_id = seed_flow_action.flow_id
$$;

SELECT flowcontrol.register_trigger(name)
FROM unnest(ARRAY['trigger_name', 'wait_trigger_name', 'test_trigger']) AS name;
SELECT seed_fresh();
SELECT flowcontrol.export_flow(seed_flow()) - 'actions' - 'triggers' AS flow_fixture;
