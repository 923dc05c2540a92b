-- The expression language (SPEC.md section 7): literals, variables,
-- operators, truthiness, syntax errors and limits.  Filters and templates
-- are in expressions_filters.sql.  Every example of doc/expressions.md is
-- here or there.

-- The examples of SPEC.md
SELECT flowcontrol.evaluate('i|add:2', '{"i": 5}');
SELECT flowcontrol.evaluate('foo|startswith:"b"', '{"foo": "bar"}');
SELECT flowcontrol.evaluate('x|add:1', '{}');
SELECT flowcontrol.evaluate('foo|add:''bar''', '{"foo": "bar"}');

-- A table of expressions over one context
\set ctx '{"i": 5, "f": 2.5, "zero": 0, "s": "hello", "empty": "", "t": true, "no": false, "n": null, "items": ["a", "b", "c"], "nums": [1, 2, 3], "object": {"username": "ada", "status": "paid", "tags": ["x", "y"], "0": "key zero"}, "amount": 150, "flags": {}, "nested": [[1, 2], {"k": "v"}]}'
CREATE FUNCTION pg_temp.ev(e text, ctx jsonb DEFAULT '{}') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN flowcontrol.evaluate(e, ctx)::text;
EXCEPTION WHEN OTHERS THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;

-- literals
SELECT e AS expression, pg_temp.ev(e) AS result
FROM (VALUES ('42'), ('-7'), ('+3'), ('2.50'), ('.5'), ('-.5'), ('1e3'), ('1.5E-2'),
	('''single'''), ('"double"'), ('"it''s"'), ('''say "hi"'''),
	('''it\''s'''), ('"a \"quoted\" word"'), ('"back\\slash"'), ('"keep \n as is"'),
	('True'), ('False'), ('None'), (''), ('   '), ('"ünïcödé"')) AS v(e);

-- variables and dotted lookups; anything missing is None
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('i'), ('s'), ('object.username'), ('object.tags.1'), ('items.0'),
	('items.2'), ('items.3'), ('items.01'), ('items.00000000000002'), ('items.99999999999'), ('object.0'), ('nested.0.1'), ('nested.1.k'),
	('s.1'), ('s.9'), ('missing'), ('missing.deeper'), ('object.missing'),
	('i.0'), ('items.x'), ('n.x'), ('true'), ('_private'), ('ünï')) AS v(e);
SELECT flowcontrol.evaluate('x', NULL) AS null_context,
	flowcontrol.evaluate('_private', '{"_private": 1}') AS underscore,
	flowcontrol.evaluate('ünï', '{"ünï": "unicode key"}') AS unicode_name;

-- comparisons: numbers across int and float, strings, lists; incompatible
-- types are false, never an error
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('i == 5'), ('i == 5.0'), ('f == 2.50'), ('i != 5'), ('i > 4'), ('i >= 5'),
	('i < 5'), ('i <= 4.99'), ('s == "hello"'), ('s < "help"'), ('"b" > "abc"'),
	('"a" < 1'), ('"a" == 1'), ('"a" != 1'), ('n < 1'), ('n > 1'), ('n == None'),
	('missing == None'), ('items == object.tags'), ('nested.0 == nested.0'), ('nums < nums'), ('nums <= nums'),
	('object == object'), ('object < object'), ('flags == flags'), ('t == 1'), ('no == 0'),
	('t > no'), ('t == "True"'), ('1 == 1 == True'), ('i==5'), ('amount>100')) AS v(e);
SELECT flowcontrol.evaluate('a < b', '{"a": [1, 2], "b": [1, 3]}') AS list_lt,
	flowcontrol.evaluate('a < b', '{"a": [1, 2], "b": [1, 2, 0]}') AS prefix_lt,
	flowcontrol.evaluate('a < b', '{"a": [1, "x"], "b": [1, 2]}') AS mixed_lt,
	flowcontrol.evaluate('a == b', '{"a": {"k": [1, {"z": null}]}, "b": {"k": [1.0, {"z": null}]}}') AS deep_eq,
	flowcontrol.evaluate('a == b', '{"a": {"k": 1}, "b": {"j": 1}}') AS keys_differ;

-- in and not in: substring, element, key; incompatible types make both false
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('"ell" in s'), ('"" in s'), ('"x" in s'), ('"a" in items'), ('"z" not in items'),
	('2.0 in nums'), ('"username" in object'), ('"ada" in object'), ('1 in object'),
	('1 in s'), ('1 not in s'), ('1 in None'), ('1 not in missing'), ('items in object'),
	('nested.0 in nested'), ('"x" in object.tags')) AS v(e);

-- is and is not: only None, True and False have an identity
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('n is None'), ('missing is None'), ('zero is None'), ('t is True'),
	('1 is True'), ('no is False'), ('zero is False'), ('i is 5'), ('s is "hello"'),
	('n is not None'), ('i is not None'), ('t is not True')) AS v(e);

-- and/or return the deciding operand; not returns a boolean
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('i and s'), ('zero and s'), ('s and empty and i'), ('zero or empty'),
	('zero or items'), ('n or "fallback"'), ('i or missing'), ('not i'), ('not zero'),
	('not not s'), ('not missing')) AS v(e);

-- precedence (loosest first: or, and, not, in, comparisons) and parentheses
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('True or True and False'), ('(True or True) and False'),
	('not True == False'), ('not "a" in items'), ('"a" not in items or True'),
	('not i == 5 and s'), ('zero or i > 3 and s'), ('(zero or i) > 3'),
	('i > 3 == True'), ('(i > 3) == True'), ('i == 5 is True'),
	('((((i))))'), ('(s)|upper'), ('not(i)'), ('i==5and s')) AS v(e);

-- truthiness is Python's: None, false, 0, 0.0, "", [] and {} are false
SELECT v AS value, flowcontrol.evaluate('not not v', jsonb_build_object('v', v)) AS truthy
FROM (VALUES ('null'::jsonb), ('false'), ('true'), ('0'), ('0.0'), ('-0.00'), ('0.001'),
	('-1'), ('""'), ('" "'), ('"0"'), ('"False"'), ('[]'), ('[0]'), ('{}'), ('{"a": null}')) AS t(v);

-- the result is jsonb: scalars, or containers as stored in the context
SELECT flowcontrol.evaluate('object', :'ctx') AS object,
	jsonb_typeof(flowcontrol.evaluate('i', :'ctx')) AS number_type,
	flowcontrol.evaluate('nested', :'ctx') -> 1 ->> 'k' AS nested_k,
	flowcontrol.evaluate(NULL, '{}') IS NULL AS null_expression;

-- one expression over many rows (parsed once per query)
SELECT count(*) FILTER (WHERE flowcontrol.evaluate('object.status == "paid" and amount > 100',
	jsonb_build_object('object', jsonb_build_object('status', CASE WHEN g % 2 = 0 THEN 'paid' ELSE 'open' END),
	'amount', g))::boolean) AS paid_over_100
FROM generate_series(1, 1000) AS g;

-- validate_expression checks syntax and filter names
SELECT flowcontrol.validate_expression('object.status == "paid" and amount > 100');
SELECT flowcontrol.validate_expression('');

-- Invalid expressions.  Syntax errors name the token, with its position.
SELECT flowcontrol.evaluate('i !bad= 5', '{"i": 5}');
SELECT flowcontrol.evaluate('foo =bad= ''bar''', '{"foo": "bar"}');
SELECT flowcontrol.evaluate('i ==', '{"i": 5}');
SELECT flowcontrol.evaluate('(i == 5', '{"i": 5}');
SELECT flowcontrol.evaluate('"unterminated', '{}');
SELECT flowcontrol.evaluate('ünï @ 2', '{}');
SELECT flowcontrol.validate_expression('a and or b');
-- and with the SQLSTATE
SELECT e AS expression, pg_temp.ev(e) AS result
FROM (VALUES ('i = 5'), ('i ! 5'), ('i == 5)'), ('()'), ('i 5'), ('and'), ('not'),
	('a not b'), ('[1, 2]'), ('x[0]'), ('not in x'), ('a is not in b'), ('x.'), ('x..y'), ('.x'), ('1.'),
	('1.2.3'), ('5abc'), ('1e'), ('x|'), ('x|1'), ('x|a.b'), ('x|upper:'), ('x|upper:(1)'),
	('x|default:not'), ('''a'' ''b'''), ('a = = b'), ('{{ x }}'), ('x # comment')) AS v(e);
SELECT flowcontrol.evaluate('x', '[1, 2]');

-- Limits: length (65536 bytes) and nesting (200 levels)
SELECT flowcontrol.evaluate(repeat('not ', 100000) || 'x');
SELECT flowcontrol.evaluate(repeat('(', 50000));
SELECT flowcontrol.evaluate('x' || repeat('|length', 100000));
SELECT flowcontrol.evaluate(repeat('not ', 16000) || 'x');
SELECT flowcontrol.evaluate(repeat('(', 20000) || 'x' || repeat(')', 20000));
SELECT flowcontrol.evaluate(repeat('x == ', 10000) || 'x');
SELECT pg_temp.ev(repeat('not ', 199) || 'x') AS deepest_not,
	pg_temp.ev(repeat('not ', 200) || 'x') AS too_deep_not,
	pg_temp.ev(repeat('(', 199) || '1' || repeat(')', 199)) AS deepest_parens,
	pg_temp.ev(repeat('x == ', 199) || 'x') AS deepest_chain,
	length(pg_temp.ev(rpad('"', 65535, 'a') || '"')) AS longest_string_length,
	pg_temp.ev(rpad('"', 65536, 'a') || '"') AS too_long;
-- long flat expressions just under the limit evaluate
SELECT flowcontrol.evaluate('x' || repeat('|length', 9000), '{"x": "abc"}') AS length_chain,
	flowcontrol.evaluate('x' || repeat('|first', 10000), '{"x": "abc"}') AS first_chain,
	flowcontrol.evaluate(repeat('x and ', 10000) || 'x', '{"x": 1}') AS and_chain,
	flowcontrol.evaluate(repeat('x or ', 10000) || 'x', '{"x": 0}') AS or_chain,
	flowcontrol.evaluate('x' || repeat('|add:1', 10000), '{"x": 0}') AS add_chain;

-- The parse cache keeps one small context per expression (all of them
-- children of "flowcontrol expression cache"; the parent is not tested, as
-- PostgreSQL 18 replaced the view's parent column by path); a parse error
-- leaves none behind; past 1000 entries it is emptied by the next
-- transaction that uses it
SELECT count(*) AS cached FROM pg_backend_memory_contexts
WHERE name = 'flowcontrol expression';
SELECT flowcontrol.validate_expression('x ==');
SELECT count(*) AS still_cached FROM pg_backend_memory_contexts
WHERE name = 'flowcontrol expression';
SELECT count(*) FILTER (WHERE flowcontrol.validate_expression('x == ' || g)) AS validated
FROM generate_series(1, 1200) AS g;
SELECT count(*) AS over_budget FROM pg_backend_memory_contexts
WHERE name = 'flowcontrol expression';
SELECT flowcontrol.validate_expression('y');
SELECT count(*) AS after_reset FROM pg_backend_memory_contexts
WHERE name = 'flowcontrol expression';

-- evaluate_condition(): the truthiness of the value, as IfAction decides
SELECT e, flowcontrol.evaluate_condition(e, '{"a": 1, "s": "", "l": [0], "o": {}, "n": null}') AS holds
FROM (VALUES ('a'), ('s'), ('l'), ('o'), ('n'), ('missing'), (''), ('a == 1 and l'), ('s or o'),
			 ('not n'), ('l|first'), ('a|add:-1')) AS t(e);
SELECT flowcontrol.evaluate_condition('x > 1', c) FROM (VALUES ('{"x": 2}'::jsonb), ('{"x": 0}'), (NULL)) AS t(c);
SELECT flowcontrol.evaluate_condition(NULL) IS NULL AS null_expression;
SELECT try($$SELECT flowcontrol.evaluate_condition('a ==')$$);
SELECT try($$SELECT flowcontrol.evaluate_condition('a', '[1]')$$);
