-- Every example of doc/expressions.md, read from the file itself, so the
-- reference cannot drift from the implementation.  A line
--   evaluate('EXPRESSION', 'CONTEXT') → RESULT
-- asserts the jsonb result (or "ERROR: message"); a line
--   render('TEMPLATE', 'CONTEXT') → TEXT
-- asserts a rendered template.  Quotes inside are doubled, as in SQL.
\set doc `cat doc/expressions.md`
CREATE FUNCTION pg_temp.render(template text, ctx jsonb DEFAULT '{}') RETURNS text
LANGUAGE C STRICT AS '$libdir/flowcontrol', 'flowcontrol_render_template';
CREATE FUNCTION pg_temp.check_example(line text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	m text[];
	source text;
	ctx jsonb;
	got text;
	want text;
BEGIN
	m := regexp_match(line,
		'^(evaluate|render)\(''((?:[^'']|'''')*)''(?:, ''((?:[^'']|'''')*)'')?\) → (.*)$');
	IF m IS NULL THEN
		RETURN 'not an example line';
	END IF;
	source := replace(m[2], '''''', '''');
	ctx := coalesce(replace(m[3], '''''', ''''), '{}')::jsonb;
	want := m[4];
	BEGIN
		IF m[1] = 'evaluate' THEN
			got := flowcontrol.evaluate(source, ctx)::text;
		ELSE
			got := pg_temp.render(source, ctx);
		END IF;
	EXCEPTION WHEN OTHERS THEN
		got := 'ERROR: ' || SQLERRM;
	END;
	IF got = want THEN
		RETURN 'ok';
	END IF;
	IF m[1] = 'evaluate' AND got NOT LIKE 'ERROR: %' AND want NOT LIKE 'ERROR: %' THEN
		BEGIN
			IF got::jsonb = want::jsonb THEN
				RETURN 'ok';
			END IF;
		EXCEPTION WHEN invalid_text_representation THEN
			NULL;
		END;
	END IF;
	RETURN 'MISMATCH: got ' || got;
END $$;

SELECT count(*) AS examples FROM regexp_split_to_table(:'doc', E'\n') AS line
WHERE line ~ '^(evaluate|render)\(';

SELECT line AS example, pg_temp.check_example(line) AS result
FROM regexp_split_to_table(:'doc', E'\n') WITH ORDINALITY AS t(line, n)
WHERE line ~ '^(evaluate|render)\('
ORDER BY n;
