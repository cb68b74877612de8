# childguard — PGXS build.  `make demo` and `make check` drive a private,
# throwaway cluster through test/*.sh; every other target is plain PGXS.

EXTENSION    = childguard
EXTVERSION   = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big   = childguard
OBJS         = $(patsubst %.c,%.o,$(wildcard src/*.c))
# Versions: the 1.0 install script is assembled from sql/install/NN_topic.sql
# (frozen: 1.0 as released); every later version is that base plus upgrade
# scripts, each assembled from sql/update/A--B/NN_topic.sql in name order.
# CREATE EXTENSION of default_version runs 1.0 and then the chain, so fresh and
# upgraded installs run the same SQL (see sql/install/README.md).
CG_BASE_SQL  = $(EXTENSION)--1.0.sql
CG_BASE_PARTS = $(sort $(wildcard sql/install/*.sql))
CG_UPDATE_DIRS = $(sort $(patsubst sql/update/%/,%,$(dir $(wildcard sql/update/*/*.sql))))
CG_UPDATE_SQL = $(patsubst %,$(EXTENSION)--%.sql,$(CG_UPDATE_DIRS))
DATA_built   = $(CG_BASE_SQL) $(CG_UPDATE_SQL)
DOCS         = README.md

PG_CPPFLAGS  = -I$(srcdir)/src
SHLIB_LINK   = -lcrypto

REGRESS      := $(patsubst sql/%.sql,%,$(sort $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=pgcrypto --load-extension=$(EXTENSION)
ISOLATION    := $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=pgcrypto --load-extension=$(EXTENSION)

PG_CONFIG   ?= pg_config
# no LLVM bitcode: the JIT gains nothing from our code, and it needs clang
override with_llvm = no

.SECONDEXPANSION:
ifeq ($(filter check check-long check-sanitize fuzz demo,$(MAKECMDGOALS)),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(CG_BASE_SQL): $(CG_BASE_PARTS)
	cat $^ > $@

$(EXTENSION)--%.sql: $$(sort $$(wildcard sql/update/$$*/*.sql))
	cat $^ > $@
else
.PHONY: check check-long check-sanitize fuzz demo
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
endif
