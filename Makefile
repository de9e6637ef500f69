# Tessera - OpenID Connect provider and OAuth 2.0 authorisation server.
#
#   make run     build and start the server with the demo configuration
#   make test    build, then run every test (unit, contract, fuzz, integration)
#   make test-counts  build, run the unit and integration tests and rewrite
#                tests/expected-counts with the numbers of tests they ran
#   make bench   signing ratios to `openssl speed`, HTTP throughput with wrk
#   make bench-compare  the same workloads against Tessera and oidc-provider
#                (npm, pinned in tests/bench/compare), with the ratios, a table
#                (build/bench/compare.md) and a chart (build/bench/compare.svg);
#                BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONCURRENCY change the runs
#   make profile the server's CPU per operation, and where it goes: perf
#                with frame pointers (build/prof, tests/bench/profile.sh)
#   make lint    clang-format dry run + banned functions
#   make deps    install missing Debian 12 packages (as root), else print the command
#
# Builds go to build/release (optimised) and build/asan (ASan + UBSan, used
# by the tests). Warnings are errors. V=1 shows the full commands.

SHELL := /bin/bash
.DEFAULT_GOAL := all
Q := $(if $(V),,@)

PKGS := libevent libevent_openssl yajl libsodium openssl hiredis cjose
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC ?= gcc
WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wundef -Wcast-qual -Wvla
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -I. $(WARN) -fno-common -g
RELEASE_CFLAGS := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
ASAN_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=all
LDLIBS = $(PKG_LIBS) -ldl -lm

# core/ is in layers (base, config, proto, flows, server; main on top), the
# other modules are flat. tests/unit/ mirrors the tree.
MODULES := core/base core/config core/proto core/flows core/server http spi storage keys
LIB_SRC := $(wildcard $(addsuffix /*.c,$(MODULES)))
MAIN_SRC := core/op_main.c
UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_HEADERS := $(wildcard tests/fuzz/*.h)
HEADERS := $(wildcard $(addsuffix /*.h,$(MODULES)) tests/unit/*.h)

define objs
$(patsubst %.c,build/$(1)/%.o,$(2))
endef

REL_OBJ := $(call objs,release,$(LIB_SRC))
ASAN_OBJ := $(call objs,asan,$(LIB_SRC))

BIN := build/release/tessera
ASAN_BIN := build/asan/tessera

# The example login page: a separate program on the project's runtime.
LOGIN_SRC := $(wildcard examples/login-page/*.c)
LOGIN_LIB_SRC := $(filter-out examples/login-page/login_page.c,$(LOGIN_SRC))
LOGIN_HEADERS := $(wildcard examples/login-page/*.h)
LOGIN_BIN := build/release/login-page
ASAN_LOGIN_BIN := build/asan/login-page
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRC))
BENCH_BIN := build/release/tests/bench_sign
LOAD_BIN := build/release/tests/bench_load
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
# Plugins (.so, spi/op_spi.h only): the examples, and the unit tests' own.
PLUGIN_SRC := $(wildcard examples/plugins/*.c)
PLUGINS := $(patsubst examples/plugins/%.c,build/release/plugins/%.so,$(PLUGIN_SRC))
ASAN_PLUGINS := $(patsubst examples/plugins/%.c,build/asan/plugins/%.so,$(PLUGIN_SRC))
TEST_PLUGINS := $(patsubst tests/unit/plugins/%.c,build/asan/tests/plugins/%.so,\
                  $(wildcard tests/unit/plugins/*.c))

.PHONY: all run test test-counts unit bench bench-compare lint clean deps deps-test deps-bench fuzz \
        check-config profile
all: $(BIN) $(ASAN_BIN) $(LOGIN_BIN) $(ASAN_LOGIN_BIN) $(PLUGINS) $(ASAN_PLUGINS)

build/release/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(RELEASE_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

build/asan/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

build/release/libtessera.a: $(REL_OBJ)
	@rm -f $@; ar rcs $@ $^

build/asan/libtessera.a: $(ASAN_OBJ)
	@rm -f $@; ar rcs $@ $^

$(BIN): build/release/core/op_main.o build/release/libtessera.a
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(RELEASE_CFLAGS) -rdynamic $^ -o $@ $(LDLIBS)

$(ASAN_BIN): build/asan/core/op_main.o build/asan/libtessera.a
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) -rdynamic $^ -o $@ $(LDLIBS)

$(call objs,release,$(LOGIN_SRC)) $(call objs,asan,$(LOGIN_SRC)): $(LOGIN_HEADERS)

$(LOGIN_BIN): $(call objs,release,$(LOGIN_SRC)) build/release/libtessera.a
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(RELEASE_CFLAGS) -pthread $^ -o $@ $(LDLIBS)

$(ASAN_LOGIN_BIN): $(call objs,asan,$(LOGIN_SRC)) build/asan/libtessera.a
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) -pthread $^ -o $@ $(LDLIBS)

# The login page's unit test links its sources, all but main.
build/asan/tests/examples/test_login_page: tests/unit/examples/test_login_page.c $(call objs,asan,$(LOGIN_LIB_SRC)) \
                                  build/asan/libtessera.a $(HEADERS) $(LOGIN_HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) $(PKG_CFLAGS) -pthread $< \
	    $(call objs,asan,$(LOGIN_LIB_SRC)) build/asan/libtessera.a -o $@ $(LDLIBS)

build/asan/tests/%: tests/unit/%.c build/asan/libtessera.a $(HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) $(PKG_CFLAGS) $< build/asan/libtessera.a -o $@ $(LDLIBS)

build/release/plugins/%.so: examples/plugins/%.c spi/op_spi.h
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  SO    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(RELEASE_CFLAGS) -fPIC -shared $< -o $@

build/asan/plugins/%.so: examples/plugins/%.c spi/op_spi.h
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  SO    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) -fPIC -shared $< -o $@

build/asan/tests/plugins/%.so: tests/unit/plugins/%.c $(wildcard tests/unit/plugins/*.h) spi/op_spi.h
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  SO    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) -fPIC -shared $< -o $@

build/asan/tests/spi/test_op_spi: build/asan/plugins/timer_claims.so $(TEST_PLUGINS)
build/asan/tests/flows/test_op_token_endpoint: $(TEST_PLUGINS)
build/asan/tests/flows/test_op_authz_session: $(TEST_PLUGINS)

# The benchmarks' C programs: the signing throughput (make bench) and the
# load driver (make bench-compare).
$(BENCH_BIN): tests/bench/bench_sign.c
$(LOAD_BIN): tests/bench/load.c tests/bench/load_flow.c tests/bench/load.h
$(BENCH_BIN) $(LOAD_BIN): build/release/libtessera.a $(HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(RELEASE_CFLAGS) $(PKG_CFLAGS) $(filter %.c,$^) \
	    build/release/libtessera.a -o $@ $(LDLIBS)

# libFuzzer targets: clang, sanitizers, the library sources compiled in.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(HEADERS) $(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  FUZZ  $@")
	$(Q)clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) $< $(LIB_SRC) -o $@ $(LDLIBS)

# The login page's target also compiles the page's sources, all but main.
build/fuzz/fuzz_login_page: tests/fuzz/fuzz_login_page.c $(LIB_SRC) $(LOGIN_LIB_SRC) $(HEADERS) \
                            $(FUZZ_HEADERS) $(LOGIN_HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  FUZZ  $@")
	$(Q)clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -pthread $< $(LIB_SRC) $(LOGIN_LIB_SRC) -o $@ $(LDLIBS)

fuzz: $(FUZZ_BINS)

unit: $(UNIT_BINS)

# Debian 12 packages. `node`/`npm` count as present when the commands exist
# (a machine may carry Node.js from elsewhere); otherwise Debian's are used.
DEPS_BUILD := gcc make pkg-config libevent-dev libyajl-dev libsodium-dev \
              libssl-dev libhiredis-dev libcjose-dev libjansson-dev
DEPS_TEST := $(DEPS_BUILD) redis-server clang libclang-rt-14-dev curl chromium openssl \
             $(if $(shell command -v node),,nodejs) $(if $(shell command -v npm),,npm)
DEPS_BENCH := $(DEPS_BUILD) wrk openssl redis-server $(if $(shell command -v node),,nodejs)

# Install what is missing (as root) or print the command and stop.
define install_missing
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done | xargs); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing $$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else \
	    echo "deps: missing Debian packages; run:"; \
	    echo "  sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call install_missing,$(DEPS_BUILD))

deps-test:
	$(call install_missing,$(DEPS_TEST))

deps-bench:
	$(call install_missing,$(DEPS_BENCH))

run: deps $(BIN) $(LOGIN_BIN)
	@examples/run-demo.sh

NPROC := $(shell nproc 2>/dev/null || echo 2)

test: deps-test
	@$(MAKE) --no-print-directory -j$(NPROC) all unit fuzz
	@tests/run.sh

test-counts: deps-test
	@$(MAKE) --no-print-directory -j$(NPROC) all unit
	@tests/run.sh --update-counts unit integration

bench: deps-bench
	@$(MAKE) --no-print-directory $(BIN) $(BENCH_BIN)
	@tests/bench/run.sh

bench-compare: deps-bench
	@$(MAKE) --no-print-directory $(BIN) $(LOAD_BIN)
	@[ -d tests/bench/compare/node_modules ] || \
	    (cd tests/bench/compare && npm ci --no-audit --no-fund)
	@tests/bench/compare.sh

# The release build with frame pointers, for perf's call graphs.
PROF_CFLAGS := $(RELEASE_CFLAGS) -fno-omit-frame-pointer
PROF_BIN := build/prof/tessera

build/prof/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(PROF_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(PROF_BIN): $(call objs,prof,$(MAIN_SRC) $(LIB_SRC))
	@$(if $(V),,echo "  LD    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(PROF_CFLAGS) -rdynamic $^ -o $@ $(LDLIBS)

profile: deps-bench
	@$(MAKE) --no-print-directory $(PROF_BIN)
	@tests/bench/profile.sh

check-config: $(BIN)
	@$(BIN) --check-config examples/tessera.properties

lint:
	@tests/lint.sh

clean:
	rm -rf build
