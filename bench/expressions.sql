-- bench/expressions.sql: flowcontrol.evaluate() against the same condition
-- written in PL/pgSQL, both called once per row over one million rows.
-- Run by bench/expressions.sh (see bench/README-expressions.md).
\set ON_ERROR_STOP on
\set rounds 5
SET jit = off;
SET max_parallel_workers_per_gather = 0;
CREATE EXTENSION IF NOT EXISTS flowcontrol;

-- the condition of the issue, in PL/pgSQL over the same jsonb
CREATE OR REPLACE FUNCTION bench_plpgsql(ctx jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	RETURN (ctx->'object'->>'status') = 'paid' AND (ctx->>'amount')::numeric > 100;
END $$;

-- one million contexts shaped like a run's: the object row and some state
DROP TABLE IF EXISTS bench_ctx;
CREATE TABLE bench_ctx AS
SELECT jsonb_build_object(
		'object', jsonb_build_object('id', g, 'status', CASE WHEN g % 3 = 0 THEN 'open' ELSE 'paid' END,
									 'customer', 'customer ' || (g % 1000), 'created', '2024-01-01'),
		'amount', g % 250, 'currency', 'EUR', 'attempt', g % 5) AS ctx
FROM generate_series(1, 1000000) AS g;
VACUUM ANALYZE bench_ctx;

CREATE OR REPLACE FUNCTION bench_time(query text) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	n bigint;
BEGIN
	t0 := clock_timestamp();
	EXECUTE query INTO n;
	RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END $$;

CREATE TEMP TABLE bench_query (name text PRIMARY KEY, query text);
INSERT INTO bench_query VALUES
	('table: flowcontrol.evaluate',
	 $q$SELECT count(*) FILTER (WHERE flowcontrol.evaluate('object.status == "paid" and amount > 100', ctx)::boolean) FROM bench_ctx$q$),
	('table: flowcontrol.evaluate_condition',
	 $q$SELECT count(*) FILTER (WHERE flowcontrol.evaluate_condition('object.status == "paid" and amount > 100', ctx)) FROM bench_ctx$q$),
	('table: PL/pgSQL',
	 $q$SELECT count(*) FILTER (WHERE bench_plpgsql(ctx)) FROM bench_ctx$q$),
	('table: scan only',
	 $q$SELECT count(*) FILTER (WHERE ctx IS NOT NULL) FROM bench_ctx$q$),
	('constant: flowcontrol.evaluate',
	 $q$SELECT count(*) FILTER (WHERE flowcontrol.evaluate('object.status == "paid" and amount > 100', '{"object": {"id": 7, "status": "paid", "customer": "customer 7", "created": "2024-01-01"}, "amount": 150, "currency": "EUR", "attempt": 2}')::boolean) FROM generate_series(1, 1000000)$q$),
	('constant: flowcontrol.evaluate_condition',
	 $q$SELECT count(*) FILTER (WHERE flowcontrol.evaluate_condition('object.status == "paid" and amount > 100', '{"object": {"id": 7, "status": "paid", "customer": "customer 7", "created": "2024-01-01"}, "amount": 150, "currency": "EUR", "attempt": 2}')) FROM generate_series(1, 1000000)$q$),
	('constant: PL/pgSQL',
	 $q$SELECT count(*) FILTER (WHERE bench_plpgsql('{"object": {"id": 7, "status": "paid", "customer": "customer 7", "created": "2024-01-01"}, "amount": 150, "currency": "EUR", "attempt": 2}')) FROM generate_series(1, 1000000)$q$),
	('constant: scan only',
	 $q$SELECT count(*) FILTER (WHERE g IS NOT NULL) FROM generate_series(1, 1000000) AS g$q$);

-- both forms agree
SELECT (SELECT count(*) FILTER (WHERE flowcontrol.evaluate('object.status == "paid" and amount > 100', ctx)::boolean) FROM bench_ctx) =
	(SELECT count(*) FILTER (WHERE bench_plpgsql(ctx)) FROM bench_ctx) AS same_count;

-- warm up, then :rounds rounds, the queries interleaved in each
SELECT name, bench_time(query) AS warmup_ms FROM bench_query ORDER BY name;
CREATE TEMP TABLE bench_run AS
SELECT r AS round, q.name, bench_time(q.query) AS ms
FROM generate_series(1, :rounds) AS r CROSS JOIN LATERAL
	(SELECT * FROM bench_query ORDER BY name) AS q;

SELECT name, percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) AS median_ms,
	min(ms) AS min_ms, max(ms) AS max_ms
FROM bench_run GROUP BY name ORDER BY name;

-- the ratio PL/pgSQL / evaluate per round, and its median; and the same
-- with the cost of the bare scan taken off both
SELECT split_part(e.name, ':', 1) AS data, split_part(e.name, '.', 2) AS function,
	percentile_disc(0.5) WITHIN GROUP (ORDER BY round(p.ms / e.ms, 2)) AS median_ratio,
	percentile_disc(0.5) WITHIN GROUP (ORDER BY round((p.ms - s.ms) / (e.ms - s.ms), 2)) AS median_ratio_net,
	percentile_disc(0.5) WITHIN GROUP (ORDER BY round((e.ms - s.ms) * 1000 / 1000000, 3)) AS evaluate_us_per_call,
	percentile_disc(0.5) WITHIN GROUP (ORDER BY round((p.ms - s.ms) * 1000 / 1000000, 3)) AS plpgsql_us_per_call
FROM bench_run e
JOIN bench_run p ON p.round = e.round AND p.name = split_part(e.name, ':', 1) || ': PL/pgSQL'
JOIN bench_run s ON s.round = e.round AND s.name = split_part(e.name, ':', 1) || ': scan only'
WHERE e.name LIKE '%flowcontrol.evaluate%'
GROUP BY 1, e.name ORDER BY 1, e.name;
