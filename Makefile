# childguard — PGXS build.  `make demo` and `make check` drive a private,
# throwaway cluster through test/*.sh; every other target is plain PGXS.

EXTENSION    = childguard
EXTVERSION   = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big   = childguard
OBJS         = $(patsubst %.c,%.o,$(wildcard src/*.c))
# The install script is assembled from sql/install/NN_topic.sql, one concern
# each, in name order; upgrade scripts (sql/childguard--A--B.sql) are kept whole.
CG_INSTALL_SQL = $(EXTENSION)--$(EXTVERSION).sql
CG_INSTALL_PARTS  = $(sort $(wildcard sql/install/*.sql))
DATA_built   = $(CG_INSTALL_SQL)
DATA         = $(wildcard sql/$(EXTENSION)--*--*.sql)
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

ifeq ($(filter check demo,$(MAKECMDGOALS)),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(CG_INSTALL_SQL): $(CG_INSTALL_PARTS)
	cat $^ > $@
else
.PHONY: check demo
check:
	bash test/run-check.sh
demo:
	bash test/run-demo.sh
endif
