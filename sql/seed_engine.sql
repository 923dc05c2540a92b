-- The seed's tests/test_engine.py, one block per test, on the fixtures of
-- seed_fixtures.sql.  Each block shows what the seed asserts.

-- seed: test_engine.py::test_create_flowrun
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
SELECT flow_id = :flow AS same_flow, object_table, object_id = :'user' AS same_object
FROM flowcontrol.create_flowrun(:flow, 'auth_user', :'user');

-- seed: test_engine.py::test_start_flowrun
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
SELECT status IN ('done', 'pending') AS done_or_pending
FROM flowcontrol.start_flowrun(:flow, 'auth_user', :'user');

-- seed: test_engine.py::test_start_flowrun_flow_condition_false
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
UPDATE flowcontrol.flow SET condition = 'object.id == "foobar"' WHERE id = :flow;
SELECT status, outcome, untimed(log) LIKE '%Discarded because flow condition%' AS logged
FROM flowcontrol.start_flowrun(:flow, 'auth_user', :'user');

-- seed: test_engine.py::test_start_flowrun_flow_condition_true
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
UPDATE auth_user SET username = 'foobar' WHERE id = :'user';
UPDATE flowcontrol.flow SET condition = 'object.username == "foobar"' WHERE id = :flow;
SELECT status, outcome, log = '' AS empty_log
FROM flowcontrol.start_flowrun(:flow, 'auth_user', :'user');

-- seed: test_engine.py::test_start_flowrun_flow_content_type
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
UPDATE flowcontrol.flow SET object_table = 'auth_group' WHERE id = :flow;
SELECT flowcontrol.start_flowrun(:flow, 'auth_user', :'user') IS NULL AS run_is_none;
UPDATE flowcontrol.flow SET object_table = 'auth_user' WHERE id = :flow;
SELECT (flowcontrol.start_flowrun(:flow, 'auth_user', :'user')).id IS NOT NULL AS run_is_not_none;

-- seed: test_engine.py::test_discard_flowrun
SELECT seed_fresh();
SELECT seed_flowrun(seed_flow(), seed_user()) AS flowrun \gset
SELECT status, outcome FROM flowcontrol.discard_flowrun(:flowrun);

-- seed: test_engine.py::test_abort_flowrun
SELECT seed_fresh();
SELECT seed_flowrun(seed_flow(), seed_user()) AS flowrun \gset
SELECT status, outcome FROM flowcontrol.abort_flowrun(:flowrun);

-- seed: test_engine.py::test_error_flowrun
SELECT seed_fresh();
SELECT seed_flowrun(seed_flow(), seed_user()) AS flowrun \gset
SELECT status, outcome, untimed(log) LIKE '%error!%' AS logged
FROM flowcontrol.error_flowrun(:flowrun, message => 'error!');

-- seed: test_engine.py::test_cancel_flowrun
SELECT seed_fresh();
SELECT seed_flowrun(seed_flow(), seed_user()) AS flowrun \gset
SELECT status, outcome FROM flowcontrol.cancel_flowrun(:flowrun);

-- seed: test_engine.py::test_cancel_flowrun_with_object
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
SELECT id AS flowrun FROM flowcontrol.create_flowrun(:flow, 'auth_user', :'user') \gset
SELECT flowcontrol.cancel_flowruns_for_object('auth_user', :'user');
SELECT status, outcome FROM flowcontrol.flow_run WHERE id = :flowrun;

-- seed: test_engine.py::test_continue_flowrun
-- (a run without an object, of a flow with an object table)
SELECT seed_fresh();
SELECT seed_flow() AS flow, seed_user() AS "user" \gset
SELECT id AS flowrun, status FROM flowcontrol.create_flowrun(:flow) \gset
SELECT :'status' AS status;
SELECT flowcontrol.continue_flowruns();
SELECT status, outcome FROM flowcontrol.flow_run WHERE id = :flowrun;

-- seed: test_engine.py::test_reset_flowrun
SELECT seed_fresh();
SELECT seed_flowrun(seed_flow(), seed_user()) AS flowrun \gset
SELECT action_id IS NULL AS no_action, status, repeat_action, done_at IS NULL AS no_done_at
FROM flowcontrol.reset_flowrun(:flowrun);

-- seed: test_engine.py::test_reset_flowrun_with_action
SELECT seed_fresh();
SELECT seed_flow() AS flow \gset
SELECT seed_flowrun(:flow, seed_user()) AS flowrun, seed_flow_action(:flow) AS flow_action \gset
SELECT action_id = :flow_action AS same_action, status, repeat_action, done_at IS NULL AS no_done_at, state
FROM flowcontrol.reset_flowrun(:flowrun, :flow_action, state => '{"foo": "bar"}');
