# retentiond - build, test, install.  See README.md.
VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR    ?=

CC         ?= cc
PKGS       := libuv sqlite3 jansson libcrypto libsystemd libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN       := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE
CFLAGS     ?= -O2 -g
ALL_CFLAGS := $(WARN) -DRTN_VERSION='"$(VERSION)"' -Ilib $(PKG_CFLAGS) $(CFLAGS)
SAN_FLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDLIBS     := $(PKG_LIBS) -lm -lpthread

B  := build
BA := build/asan

LIB_SRC   := $(sort $(wildcard lib/*.c))
# program name -> source directory
PROG_DIRS := retentiond:daemon retentionctl:ctl retention-fs:backends/fs retention-sqlite:backends/sqlite \
             retention-postgres:backends/postgres
PROGS     := $(foreach p,$(PROG_DIRS),$(if $(wildcard $(word 2,$(subst :, ,$(p)))/*.c),$(word 1,$(subst :, ,$(p)))))
prog_dir   = $(word 2,$(subst :, ,$(filter $(1):%,$(PROG_DIRS))))
prog_src   = $(sort $(wildcard $(call prog_dir,$(1))/*.c))

UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BA)/tests/%,$(UNIT_SRC))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
HELPER_SRC:= $(sort $(wildcard tests/helpers/*.c))
HELPERS   := $(patsubst tests/helpers/%.c,$(B)/tests/%,$(HELPER_SRC)) $(B)/tests/libsqlite_insecure.so

.PHONY: all deps run check unit fuzz-replay fuzz integration bench mutate install uninstall clean format asan helpers promises
all: $(addprefix $(B)/,$(PROGS))

deps:
	@sh scripts/deps.sh

# --- normal build -----------------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/librtn.a: $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

define prog_rule
$(B)/$(1): $(patsubst %.c,$(B)/obj/%.o,$(call prog_src,$(1))) $(B)/librtn.a
	$$(CC) $$(ALL_CFLAGS) -o $$@ $$^ $$(LDLIBS)
$(BA)/$(1): $(patsubst %.c,$(BA)/obj/%.o,$(call prog_src,$(1))) $(BA)/librtn.a
	$$(CC) $$(ALL_CFLAGS) $$(SAN_FLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

# --- sanitizer build (ASan + UBSan) -------------------------------------------
$(BA)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(BA)/librtn.a: $(patsubst %.c,$(BA)/obj/%.o,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BA)/tests/%: tests/unit/%.c $(BA)/librtn.a tests/unit/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -Itests/unit -o $@ $< $(BA)/librtn.a $(CHECK_LIBS) $(LDLIBS)

$(BA)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(BA)/librtn.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $< tests/fuzz/replay.c $(BA)/librtn.a $(LDLIBS)

$(B)/tests/%: tests/helpers/%.c $(B)/librtn.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/librtn.a $(LDLIBS)

# A test hook, LD_PRELOADed: SQLite connections start with secure_delete off (see the file).
$(B)/tests/libsqlite_insecure.so: tests/shim/sqlite_insecure.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(PKG_CFLAGS) $(CFLAGS) -fPIC -shared -o $@ $< $(shell pkg-config --libs sqlite3) -ldl

asan: $(addprefix $(BA)/,$(PROGS))
helpers: $(HELPERS)

# The traceability tables of doc/promises/ (promise, notice, rule, a sample record's
# date), made from rules/; tests/integration/test_traceability.sh checks they are current.
promises: $(B)/tests/promises
	@mkdir -p doc/promises
	$(B)/tests/promises rules doc/promises

# --- tests ------------------------------------------------------------------
check: deps
	@$(MAKE) --no-print-directory all asan helpers $(UNIT_BINS) $(patsubst tests/fuzz/%.c,$(BA)/fuzz-replay/%,$(FUZZ_SRC))
	@sh tests/run.sh

unit: $(UNIT_BINS)
	@sh tests/run.sh unit

fuzz-replay: $(patsubst tests/fuzz/%.c,$(BA)/fuzz-replay/%,$(FUZZ_SRC))
	@sh tests/run.sh fuzz

integration: all asan helpers
	@sh tests/run.sh integration

# libFuzzer, bounded: make fuzz FUZZ_SECONDS=60
FUZZ_SECONDS ?= 30
fuzz: deps
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

bench: deps all helpers
	@sh tests/bench/run.sh

# Mutation testing of the code that guards the promises (minutes; not part of check):
# make mutate, or MUTATE_ONLY=id,id make mutate.
mutate: deps
	@python3 tests/mutate/run.py

# --- running ----------------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/run-demo.sh

# --- install ----------------------------------------------------------------
install: all
	sh scripts/install.sh install "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)" "$(MANDIR)"

uninstall:
	sh scripts/install.sh uninstall "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)" "$(MANDIR)"

format:
	clang-format -i lib/*.[ch] $(wildcard daemon/*.[ch] ctl/*.[ch] backends/*/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c tests/helpers/*.c tests/shim/*.c)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
