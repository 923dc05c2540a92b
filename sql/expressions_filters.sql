-- Expression filters (built in and registered) and {{ }} templates.

\set ctx '{"i": 5, "f": 2.5, "zero": 0, "s": "hello", "empty": "", "t": true, "no": false, "n": null, "items": ["a", "b", "c"], "nums": [1, 2, 3], "mixed": ["x", 1, null, true, [2]], "object": {"username": "ada", "status": "paid", "tags": ["x", "y"], "0": "key zero"}}'
CREATE FUNCTION pg_temp.ev(e text, ctx jsonb DEFAULT '{}') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN flowcontrol.evaluate(e, ctx)::text;
EXCEPTION WHEN OTHERS THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;
-- the template functions are not part of the SQL API; see expr_eval.c
CREATE FUNCTION pg_temp.render(template text, ctx jsonb DEFAULT '{}') RETURNS text
LANGUAGE C STRICT AS '$libdir/flowcontrol', 'flowcontrol_render_template';
CREATE FUNCTION pg_temp.validate_template(template text) RETURNS boolean
LANGUAGE C STRICT AS '$libdir/flowcontrol', 'flowcontrol_validate_template';
CREATE FUNCTION pg_temp.rendered(template text, ctx jsonb DEFAULT '{}') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN pg_temp.render(template, ctx);
EXCEPTION WHEN OTHERS THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;

-- add: integer sum (Python's int() of each side), else concatenation of
-- two strings or two arrays, else ""
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('i|add:2'), ('i|add:-7'), ('"5"|add:"2"'), ('" 5 "|add:1'), ('"1_000"|add:1'),
	('"-3"|add:i'), ('f|add:1'), ('1.9|add:1.9'), ('t|add:1'), ('99999999999999999999|add:1'),
	('s|add:"!"'), ('"5"|add:"x"'), ('items|add:nums'), ('"a"|add:1'), ('"1.5"|add:1'),
	('n|add:1'), ('missing|add:1'), ('object|add:object'), ('items|add:"d"'),
	(E'"\x0b 5\x1f\t"|add:1'), ('"5 5"|add:1'), ('"_5"|add:1'), ('"5__0"|add:1'), ('"+"|add:1')) AS v(e);

-- default, default_if_none
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('missing|default:"d"'), ('zero|default:"d"'), ('empty|default:i'), ('s|default:"d"'),
	('n|default_if_none:"d"'), ('missing|default_if_none:"d"'), ('zero|default_if_none:"d"'),
	('empty|default_if_none:"d"')) AS v(e);

-- length: characters, elements, keys; 0 for anything else
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('s|length'), ('"ünï"|length'), ('items|length'), ('object|length'), ('empty|length'),
	('i|length'), ('n|length'), ('missing|length')) AS v(e);

-- lower, upper: of the value's text form
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('"HeLLo"|lower'), ('s|upper'), ('n|lower'), ('t|upper'), ('i|upper'),
	('items|upper'), ('missing|upper')) AS v(e);

-- first, last: of a string or an array; "" when empty or neither
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('items|first'), ('items|last'), ('s|first'), ('s|last'), ('"ünï"|last'),
	('nums|last'), ('mixed|last'), ('empty|first'), ('i|first'), ('n|last'), ('object|first')) AS v(e);

-- join: the text form of each element; a string's characters; an object's keys
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('items|join:", "'), ('nums|join:"+"'), ('mixed|join:"/"'), ('s|join:"-"'),
	('object|join:","'), ('items|join:i'), ('i|join:","'), ('n|join:","')) AS v(e);

-- cut: remove every occurrence from the text form
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('"a b c"|cut:" "'), ('s|cut:"l"'), ('12345|cut:3'), ('s|cut:""'), ('n|cut:"o"')) AS v(e);

-- divisibleby: Python's int() of both; false when either is no integer or arg is 0
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('i|divisibleby:5'), ('i|divisibleby:2'), ('"10"|divisibleby:"5"'), ('f|divisibleby:2'),
	('-6|divisibleby:3'), ('i|divisibleby:0'), ('s|divisibleby:2'), ('n|divisibleby:1')) AS v(e);

-- yesno: "yes,no,maybe" by default; None is maybe, or no with two choices
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('t|yesno'), ('no|yesno'), ('n|yesno'), ('missing|yesno'), ('n|yesno:"y,n"'),
	('t|yesno:"on,off"'), ('zero|yesno:"a,b,c"'), ('s|yesno:None'), ('n|yesno:"a,b,c,d"'),
	('t|yesno:"bad"')) AS v(e);

-- startswith: true when both are strings and the value starts with arg
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('s|startswith:"he"'), ('s|startswith:"lo"'), ('s|startswith:""'), ('i|startswith:"5"'),
	('s|startswith:missing'), ('object.username|startswith:object.username')) AS v(e);

-- chains, variables as arguments, filters inside larger expressions
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('x|default:1|add:2'), ('items|first|upper'), ('s|length|divisibleby:5'),
	('object.tags|join:"-"|upper'), ('missing|default:s|length > 3'), ('i|add:i|add:i'),
	('items|length == 3 and s|upper == "HELLO"'), ('"x" in object.tags|join:""'),
	('not empty|default:""'), ('(i|add:1 > 5)|yesno:"big,small"'), ('s | upper')) AS v(e);

-- Registered filters: (value jsonb, arg jsonb) returns jsonb, arg is null
-- when none is given, a NULL result is None
-- (the example of doc/expressions.md)
CREATE FUNCTION shout(value jsonb, arg jsonb) RETURNS jsonb LANGUAGE sql
AS $$ SELECT to_jsonb(upper(value #>> '{}') || coalesce(arg #>> '{}', '!')) $$;
CREATE FUNCTION public.fc_test_nothing(value jsonb, arg jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT NULL::jsonb $$;
CREATE FUNCTION public.fc_test_fail(value jsonb, arg jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'filter failed on %', value; END $$;
-- a filter name is accepted by the parser before it is registered
SELECT pg_temp.ev('s|shout', :'ctx') AS before_registering;
SELECT flowcontrol.register_filter('shout', 'shout(jsonb, jsonb)');
SELECT flowcontrol.evaluate('name|shout', '{"name": "ada"}');   -- "ADA!"
SELECT flowcontrol.register_filter('nothing', 'public.fc_test_nothing(jsonb, jsonb)');
SELECT flowcontrol.register_filter('fail', 'public.fc_test_fail(jsonb, jsonb)');
SELECT e AS expression, pg_temp.ev(e, :'ctx') AS result
FROM (VALUES ('s|shout'), ('s|shout:"?"'), ('i|shout:i'), ('s|shout|length'), ('items|last|shout'),
	('s|nothing'), ('s|nothing is None'), ('s|upper|shout:s|cut:"L"')) AS v(e);
SELECT flowcontrol.validate_expression('s|shout:1|nothing|add:1');
SELECT flowcontrol.evaluate('s|fail', :'ctx');
-- a built-in name cannot be registered
SELECT flowcontrol.register_filter('add', 'shout(jsonb, jsonb)');
-- unregistered again, the name is unknown at once
DELETE FROM flowcontrol.filter WHERE name = 'shout';
SELECT pg_temp.ev('s|shout', :'ctx') AS after_unregistering;
DELETE FROM flowcontrol.filter WHERE name IN ('nothing', 'fail');
DROP FUNCTION shout(jsonb, jsonb), public.fc_test_nothing(jsonb, jsonb),
	public.fc_test_fail(jsonb, jsonb);

-- Unknown filters: validate_expression and evaluation name them
SELECT flowcontrol.validate_expression('x|nosuch');
SELECT flowcontrol.validate_expression('x|default:1 or (y|upper|nosuch2:x)');
SELECT flowcontrol.evaluate('x|nosuch', '{}');
-- built-in filters with or without an argument, wrongly
SELECT e AS expression, pg_temp.ev(e) AS result
FROM (VALUES ('x|add'), ('x|default'), ('x|join'), ('x|length:1'), ('x|upper:"a"'),
	('x|first:0')) AS v(e);

-- Templates: {{ expression }} placeholders, rendered as Django renders
-- values: strings bare, None, True, False by name, arrays and objects as JSON
SELECT t AS template, pg_temp.rendered(t, :'ctx') AS rendered
FROM (VALUES ('Hello {{ object.username }}!'), ('{{ i|add:2 }} items'), ('{{i}}{{s}}'),
	('n={{ n }} t={{ t }} no={{ no }} f={{ f }}'), ('{{ items }} {{ object.tags|join:"," }}'),
	('[{{ missing }}] [{{ missing|default:"x" }}] [{{ missing|default_if_none:"x" }}]'),
	('{{ missing is None }} {{ missing or "none" }}'), ('{{ i > 3 and "big" }}'),
	('no placeholders'), ('{ single } and }} stray'), (''), ('{{ "a}" }}')) AS v(t);
SELECT pg_temp.validate_template('Dear {{ object.username|upper }}, {{ i }} items');
SELECT pg_temp.render('{{ x }}', NULL) AS null_context;
-- template errors
SELECT pg_temp.render('Hello {{ object.username', :'ctx');
SELECT pg_temp.render('Hello {{ }}', :'ctx');
SELECT pg_temp.validate_template('{{ i == }}');
SELECT t AS template, pg_temp.rendered(t, :'ctx') AS rendered
FROM (VALUES ('{{ "}}" }}'), ('{{ i !bad= 5 }}'), ('{{ x|nosuch }}'), ('a {{ b }} {{'),
	-- found by the fuzzer: a placeholder blank but for a vertical tab
	(E'{{ \x0b}}{ {}}'), (E'{{ \t\x0b }}')) AS v(t);

-- filters that build values are bounded (16 MB), so chains cannot blow up
SELECT length(flowcontrol.evaluate('s' || repeat('|join:"ab"', 12), '{"s": "hello"}')::text) AS grown;
SELECT flowcontrol.evaluate('s' || repeat('|join:"ab"', 40), '{"s": "hello"}');
SELECT flowcontrol.evaluate('s' || repeat('|add:s', 30),
	jsonb_build_object('s', repeat('x', 1000000)));
SELECT flowcontrol.evaluate('l' || repeat('|add:l', 30),
	jsonb_build_object('l', (SELECT jsonb_agg(repeat('x', 1000)) FROM generate_series(1, 1000))));
