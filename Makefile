# childguard — PGXS build.  `make demo`, `make check` and `make bench` drive a private,
# throwaway cluster through test/*.sh; every other target is plain PGXS.

EXTENSION    = childguard
EXTVERSION   = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big   = childguard
# src/ in floors, each using only the floors below it (README "Layout"):
# base, keys, format, consent, enforce, audit, retention; childguard.c wires the hooks.
CG_LAYERS    = base keys format consent enforce audit retention
OBJS         = src/childguard.o $(patsubst %.c,%.o,$(foreach l,$(CG_LAYERS),$(sort $(wildcard src/$(l)/*.c))))
# Versions (see sql/README.md): every released version's scripts are committed
# as sql/childguard--V.sql and sql/childguard--A--B.sql and never change again;
# the version under development is assembled from sql/update/A--B/NN_topic.sql
# (one concern per part) until it is released and frozen the same way.
# CREATE EXTENSION runs 1.0 and then the chain, so fresh and upgraded installs
# run the same SQL.
CG_RELEASED_SQL = $(sort $(wildcard sql/$(EXTENSION)--*.sql))
CG_UPDATE_DIRS = $(sort $(patsubst sql/update/%/,%,$(dir $(wildcard sql/update/*/*.sql))))
CG_UPDATE_SQL = $(patsubst %,$(EXTENSION)--%.sql,$(CG_UPDATE_DIRS))
DATA         = $(CG_RELEASED_SQL)
DATA_built   = $(CG_UPDATE_SQL)
DOCS         = README.md

# each object's header dependencies (src/x/y.d): a changed struct in a header
# rebuilds every file that includes it, not only the .c files that changed.
# In CPPFLAGS, not CFLAGS: an "override CFLAGS +=" here made PGXS's own
# CFLAGS assignment (-O2 -g -Wall ...) ignored, and the extension was built
# unoptimised.
PG_CPPFLAGS  = $(foreach l,$(CG_LAYERS),-I$(srcdir)/src/$(l)) -MMD -MP
EXTRA_CLEAN  = $(OBJS:.o=.d)
SHLIB_LINK   = -lcrypto

REGRESS      := $(patsubst sql/%.sql,%,$(sort $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --temp-config=test/childguard.conf --load-extension=pgcrypto --load-extension=$(EXTENSION)
ISOLATION    := $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --temp-config=test/childguard.conf --load-extension=pgcrypto --load-extension=$(EXTENSION)

PG_CONFIG   ?= pg_config
# no LLVM bitcode: the JIT gains nothing from our code, and it needs clang
override with_llvm = no

.SECONDEXPANSION:
ifeq ($(filter check check-long check-sanitize fuzz demo bench,$(MAKECMDGOALS)),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
-include $(OBJS:.o=.d)

$(CG_UPDATE_SQL): $(EXTENSION)--%.sql: $$(sort $$(wildcard sql/update/$$*/*.sql))
	cat $^ > $@
else
.PHONY: check check-long check-sanitize fuzz demo bench
check:
	bash test/run-check.sh
check-long:
	bash test/run-check.sh long
# regress + isolation under ASan/UBSan (also part of check-long)
check-sanitize:
	bash test/long/sanitize.sh
# each fuzz target for FUZZ_SECONDS (default 60); fails on a crash
fuzz:
	bash test/fuzz/run.sh
demo:
	bash test/run-demo.sh
# childguard vs plain text vs pgp_sym_encrypt + RLS, side by side; writes
# docs/performance.md (CG_BENCH_* settings: see test/bench/run.sh)
bench:
	bash test/bench/run.sh
endif
