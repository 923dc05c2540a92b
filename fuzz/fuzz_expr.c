/*-------------------------------------------------------------------------
 *
 * fuzz_expr.c
 *	  libFuzzer target for the expression scanner, parser, evaluator and
 *	  template renderer.
 *
 * The target is a shared library, loaded into a single-user backend
 * (postgres --single) on a throw-away data directory by fuzz/run.sh: that
 * way the expression code runs against PostgreSQL's real jsonb, numeric
 * and error-handling code rather than stubs, and no server is started.
 * fuzz_expr_run(text[]) hands its arguments to LLVMFuzzerRunDriver(),
 * which calls fuzz_one() for every input until it stops (and exits the
 * process).  Errors raised by the code under test are expected and caught;
 * crashes, sanitizer reports, timeouts and memory blow-ups are findings.
 *
 * fc_catalog_lookup_filter() is stubbed (and the privilege check and owner
 * switch around a filter call are no-ops): the filter "reg" is
 * jsonb_concat(jsonb, jsonb), every other name is unknown.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "expr_int.h"
#include "flowcache.h"
#include "owner.h"

PG_MODULE_MAGIC;

extern int	LLVMFuzzerRunDriver(int *argc, char ***argv,
								int (*callback) (const uint8_t *data, size_t size));

#define NCONTEXTS 3

static Jsonb *contexts[NCONTEXTS];
static MemoryContext iteration_context;

static const char *const context_texts[NCONTEXTS] = {
	"{}",
	"{\"a\": 1, \"b\": \"str\", \"c\": [1, \"x\", null, true, [2, 3], {\"k\": \"v\"}],"
	" \"d\": {\"x\": {\"y\": [0, 1.5]}, \"0\": \"z\"}, \"t\": true, \"f\": false,"
	" \"n\": null, \"e\": \"\", \"z\": 0, \"big\": 12345678901234567890,"
	" \"neg\": -2.5, \"u\": \"\xc3\xbcn\xc3\xaf\", \"l\": [], \"o\": {}}",
	NULL
};

Oid
fc_catalog_lookup_filter(const char *name)
{
	if (strcmp(name, "reg") == 0)
		return F_JSONB_CONCAT;
	return InvalidOid;
}

/* the filter's privileges and its owner's session: not under test here */
void
fc_catalog_check_execute(Oid fn)
{
}

void
fc_owner_enter(FcOwnerEnv *env, Oid owner)
{
}

void
fc_owner_leave(FcOwnerEnv *env)
{
}

/* Run f(source, context) and swallow the ERROR it may raise. */
static void
try_call(void (*f) (const char *, Jsonb *), const char *source, Jsonb *context)
{
	PG_TRY();
	{
		f(source, context);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(iteration_context);
		FlushErrorState();
	}
	PG_END_TRY();
}

static void
parse_and_eval(const char *source, Jsonb *unused)
{
	FcExpr	   *expr = fc_expr_parse(source);
	int			i;

	for (i = 0; i < NCONTEXTS; i++)
	{
		JsonbValue *v = fc_expr_eval(expr, contexts[i]);

		(void) fc_expr_truthy(v);
		(void) JsonbValueToJsonb(v);
		(void) fc_expr_eval_jsonb(expr, contexts[i]);
	}
	fc_expr_check_filters(expr);
}

/* The cached path the engine takes: fc_expr_get() under the wrappers. */
static void
cached(const char *source, Jsonb *context)
{
	(void) fc_expr_condition(source, context);
	(void) fc_expr_value(source, context);
	(void) fc_expr_is_empty(fc_expr_get(source));
}

static void
render(const char *source, Jsonb *context)
{
	fc_expr_validate_template(source);
	(void) fc_expr_render(source, context);
}

static int
fuzz_one(const uint8_t *data, size_t size)
{
	MemoryContext old;
	char	   *source;

	/* SQL text has no NUL bytes and is valid in the database encoding */
	if (memchr(data, 0, size) != NULL ||
		!pg_verifymbstr((const char *) data, size, true))
		return 0;

	old = MemoryContextSwitchTo(iteration_context);

	/* malloc, exactly sized, so AddressSanitizer sees reads past the end */
	source = malloc(size + 1);
	memcpy(source, data, size);
	source[size] = '\0';

	try_call(parse_and_eval, source, NULL);
	try_call(cached, source, contexts[1]);
	try_call(render, source, contexts[1]);

	free(source);
	MemoryContextSwitchTo(old);
	MemoryContextReset(iteration_context);
	fc_expr_cache_reset();
	return 0;
}

PG_FUNCTION_INFO_V1(fuzz_expr_run);
Datum
fuzz_expr_run(PG_FUNCTION_ARGS)
{
	ArrayType  *args = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			argc;
	char	  **argv;
	int			i;

	deconstruct_array(args, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	argv = palloc((nelems + 2) * sizeof(char *));
	argv[0] = "fuzz_expr";
	for (i = 0; i < nelems; i++)
		argv[i + 1] = TextDatumGetCString(elems[i]);
	argv[nelems + 1] = NULL;
	argc = nelems + 1;

	for (i = 0; i < NCONTEXTS; i++)
		contexts[i] = context_texts[i] == NULL ? NULL :
			DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
											   CStringGetDatum(context_texts[i])));
	iteration_context = AllocSetContextCreate(TopMemoryContext,
											  "fuzz iteration",
											  ALLOCSET_DEFAULT_SIZES);

	PG_RETURN_INT32(LLVMFuzzerRunDriver(&argc, &argv, fuzz_one));
}
