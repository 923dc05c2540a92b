# flowcontrol: PGXS build.  `make test` runs every suite (see README.md).

MODULE_big = flowcontrol
OBJS = \
	src/flowcontrol.o \
	src/clock.o \
	src/api.o \
	src/catalog.o \
	src/versions.o \
	src/runs.o \
	src/flowcache.o \
	src/objects.o \
	src/definition.o \
	src/registry.o \
	src/engine.o \
	src/engine_continue.o \
	src/engine_lifecycle.o \
	src/owner.o \
	src/actions.o \
	src/action_config.o \
	src/action_user.o \
	src/expr_scan.o \
	src/expr_parse.o \
	src/expr_eval.o \
	src/expr_value.o \
	src/expr_filter.o \
	src/triggers.o \
	src/trigger_acl.o \
	src/worker.o \
	src/worker_shmem.o \
	src/wakeup.o \
	src/launcher.o \
	src/action_policy.o \
	src/timeout.o
PGFILEDESC = "flowcontrol - workflows inside PostgreSQL"

EXTENSION = flowcontrol
DATA = flowcontrol--1.0.sql

REGRESS ?= install expressions expressions_filters expressions_doc registry definition engine actions triggers privileges trigger_owners diagram errors error_paths retention robustness owner_hooks hostile testclock definition_errors seed_fixtures seed_engine seed_flow seed_triggers seed_actions retry retry_schedule citus versions trigger_path registry_owners
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=./regress.conf
ISOLATION ?= limits claims trigger_during_run slow_claim deploy_during_run prune_busy
ISOLATION_OPTS = --temp-instance=./tmp_check_iso --temp-config=./regress.conf
TAP_TESTS = 1

PG_CPPFLAGS = -I$(srcdir)/src

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks header dependencies only when the server was configured with
# --enable-depend: rebuild every object (and its JIT bitcode) when any of
# our headers changes, so no object keeps an old struct layout.
$(OBJS) $(OBJS:.o=.bc): $(wildcard $(srcdir)/src/*.h)

# Every test suite against a private copy of the installed PostgreSQL.
.PHONY: test
test:
	PG_CONFIG=$(PG_CONFIG) bash tools/run-tests

# The background worker at work on a throw-away server (see tools/demo).
.PHONY: demo
demo:
	PG_CONFIG=$(PG_CONFIG) bash tools/demo

# Fuzz the expression language for FUZZ_SECONDS (see fuzz/README.md).
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	PG_CONFIG=$(PG_CONFIG) bash fuzz/run.sh $(FUZZ_SECONDS)
