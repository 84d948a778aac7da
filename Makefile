# starttls-guard - one plain Makefile. `make V=1` shows commands,
# `make SANITIZER=address` (or undefined, or address,undefined) builds with
# sanitizers into build-<name>/, `make WERROR=1` as CI does.

CC         ?= cc
PKG_CONFIG ?= pkg-config
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
sysconfdir ?= $(SYSCONFDIR)
DOCDIR     ?= $(PREFIX)/share/doc/starttls-guard
MANDIR     ?= $(PREFIX)/share/man
LIBEXECDIR ?= $(PREFIX)/libexec/starttls-guard
UNITDIR    ?= $(PREFIX)/lib/systemd/system
LOGDIR     ?= /var/log/starttls-guard
DESTDIR    ?=
INSTALL    ?= install
VERSION    := $(shell cat VERSION 2>/dev/null || echo unknown)
SANITIZER  ?=
WERROR     ?=

ifeq ($(SANITIZER),)
BUILD ?= build
SANFLAGS :=
else
BUILD ?= build-$(subst $(comma),-,$(SANITIZER))
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
comma := ,

LIBS_PKG := libpcap libconfig libnetfilter_queue libmnl libseccomp openssl jansson libunbound libcurl hiredis
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PKG) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(LIBS_PKG) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -fno-common
ifneq ($(WERROR),)
WARN += -Werror
endif
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now

CFLAGS  ?= -O2 -g
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -DSTG_VERSION='"$(VERSION)"' $(WARN) $(HARDEN) $(SANFLAGS) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -I.
ALL_LDFLAGS = $(LDHARDEN) $(SANFLAGS) $(LDFLAGS)
LDLIBS_ALL  = $(PKG_LIBS) -lresolv -lpthread
# Unit tests also parse what they produce (EVE lines) with jansson.
TEST_LIBS  := -lcmocka $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)

ifeq ($(V),1)
Q :=
else
Q := @
endif

INSPECT_SRC := $(wildcard inspect/*.c)
POLICY_SRC  := $(wildcard policy/*.c)
NFQ_SRC     := $(wildcard nfq/*.c)
RESOLVER_SRC := $(wildcard resolver/*.c)
GW_SRC      := $(filter-out gateway/gw_main.c,$(wildcard gateway/*.c gateway/*/*.c))
LIB_SRC     := $(INSPECT_SRC) $(POLICY_SRC) $(NFQ_SRC) $(RESOLVER_SRC) $(GW_SRC)
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)

UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# tests/tools/capw.c is the capture writer the generators link (capw.h),
# not a tool of its own.
CAPW_SRC    := tests/tools/capw.c
CAPW_LIB    := $(BUILD)/libcapw.a
TOOL_SRC    := $(filter-out $(CAPW_SRC),$(wildcard tests/tools/*.c))
TOOL_BIN    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

BENCH_SRC   := $(wildcard bench/*.c)
BENCH_BIN   := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

BIN := $(BUILD)/starttls-guard

.PHONY: all tests deps check check-unit check-asan check-golden check-badinput \
	check-integ demo install uninstall clean fixtures bench bench-tools \
	bench-offline bench-inline bench-cluster \
	fuzz fuzz-bins fuzz-replay fuzz-merge check-fuzz check-evasion check-flood \
	check-privs check-operators stress check-fresh deb check-package

all: $(BIN) $(UNIT_BIN) $(TOOL_BIN)

# Keep objects of tests and tools (intermediates of chained rules) so a
# second `make` has nothing to do.
.SECONDARY:

tests: $(UNIT_BIN) $(TOOL_BIN)

# The version is compiled into main only; rebuild it when VERSION changes.
$(BUILD)/obj/gateway/gw_main.o: VERSION

$(BIN): $(BUILD)/obj/gateway/gw_main.o $(BUILD)/libstg.a
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/libstg.a: $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(CAPW_LIB): $(CAPW_SRC:%.c=$(BUILD)/obj/%.o)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libstg.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL) $(TEST_LIBS)

# The capture writer's test reads back what it writes with the decoder.
$(BUILD)/tests/test_capw: $(CAPW_LIB)

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(CAPW_LIB) $(BUILD)/libstg.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

# Benchmark tools: captures (libpcap, the capture writer), the naive
# NFQUEUE program, the ping-pong; none links the engine.
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(CAPW_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(BENCH_LIBS)

deps:
	$(Q)sh .ci/install-deps

check-unit: $(UNIT_BIN)
	$(Q)sh tests/run-unit.sh $(BUILD)

check-asan:
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined check-unit

check-golden: all
	$(Q)sh tests/run-golden.sh $(BUILD)

check-badinput: all
	$(Q)sh tests/run-badinput.sh $(BUILD)

check-integ: all
	$(Q)sh tests/integ/run.sh $(BUILD)

# Everything CI runs: unit, sanitizers, golden, bad input, integration (root).
# deps first, then a fresh make: pkg-config must see the installed libraries.
check: deps
	$(Q)$(MAKE) --no-print-directory check-run

check-run: all
	$(Q)MAKE="$(MAKE)" WERROR="$(WERROR)" sh tests/run-all.sh $(BUILD)

# The README's quick start on a bare Debian 12 (debootstrap minbase, a
# clone of HEAD with nothing beside it, `make demo` and `make check` in a
# chroot): root, the Debian mirror and about 11 minutes (README).
check-fresh:
	$(Q)sh tests/check-fresh.sh

# Replay every fixture capture and show the findings, one per line.
DEMO_CONF := $(wildcard tests/fixtures/golden.conf)
DEMO_JQ := if .event_type == "alert" then "  \(.alert.signature) [\(.alert.action), severity \(.alert.severity)] \(.src_ip):\(.src_port) -> \(.dest_ip):\(.dest_port): \(.alert.reason)" elif .event_type == "flow" then "  flow \(.src_ip):\(.src_port) -> \(.dest_ip):\(.dest_port): \(.flow.verdict)" else empty end
demo: deps
	$(Q)$(MAKE) --no-print-directory demo-run

demo-run: all
	$(Q)found=0; \
	for f in tests/fixtures/*.pcap tests/fixtures/*.pcapng; do \
		[ -f "$$f" ] || continue; found=1; \
		echo "== $$f"; \
		$(BIN) $(if $(DEMO_CONF),-c $(DEMO_CONF)) -r "$$f" -l - | jq -r '$(DEMO_JQ)' || exit 1; \
	done; \
	[ $$found = 1 ] || echo "demo: no captures in tests/fixtures/"

# Offline benchmarks against the floor, ndpiReader and tshark, and memory
# per flow; then, as root, inline in stg-bench-* namespaces: plain forwarding
# vs the gateway vs a naive NFQUEUE program (bench/README.md). BENCH_MB=50
# makes the offline part quick; `make bench-offline` / `make bench-inline`
# run one half.
bench-tools: $(BIN) $(BENCH_BIN) $(BUILD)/tools/gen_efflist

$(BUILD)/bench/nfq_accept: BENCH_LIBS := -lpthread
# The cluster benchmark runs two sync threads and the engine: it links it.
$(BUILD)/bench/cluster: $(BUILD)/libstg.a
$(BUILD)/bench/cluster: BENCH_LIBS := $(BUILD)/libstg.a $(PKG_LIBS) -lresolv -lpthread

bench: bench-tools
	$(Q)BUILD=$(BUILD) sh bench/run.sh
	$(Q)if [ "$$(id -u)" = 0 ]; then BUILD=$(BUILD) bash bench/inline.sh; \
	else echo "== inline benchmark skipped: needs root (bench/inline.sh)"; fi
	$(Q)if [ "$$(id -u)" = 0 ]; then BUILD=$(BUILD) sh bench/cluster.sh; \
	else echo "== cluster benchmark skipped: needs root (bench/cluster.sh)"; fi

# Two gateways through a real redis-server: propagation delay, and the
# per-packet cost with clustering on and off (bench/cluster.sh, root).
bench-cluster: bench-tools
	$(Q)BUILD=$(BUILD) sh bench/cluster.sh

bench-offline: bench-tools
	$(Q)BUILD=$(BUILD) sh bench/run.sh

bench-inline: bench-tools
	$(Q)BUILD=$(BUILD) bash bench/inline.sh

# ---- Hard to fool, hard to crash (issue 7) ----------------------------
# Fuzz harnesses tests/fuzz/fuzz_<name>.c. `make fuzz` builds them with
# clang's libFuzzer + ASan/UBSan into build-fuzz/ and runs each for
# FUZZ_SECONDS (crashes land in tests/fuzz/regress/<name>/);
# `make fuzz-merge` minimises what was found into tests/fuzz/corpus/.
# `make check-fuzz` replays corpus + regressions with gcc + ASan/UBSan.
FUZZ_NAMES   := engine smtp tls tls_hs config eff sts dns pkt
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_LIBS    := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
FUZZ_COMMON  := $(BUILD)/obj/tests/fuzz/fuzz_common.o

$(BUILD)/fuzz/replay_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(FUZZ_COMMON) $(BUILD)/libstg.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL) $(FUZZ_LIBS)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_COMMON) $(BUILD)/libstg.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS_ALL) $(FUZZ_LIBS)

fuzz-bins: $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

fuzz-replay: $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
	$(Q)sh tests/run-fuzz-replay.sh $(BUILD) $(FUZZ_NAMES)

check-fuzz:
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined fuzz-replay

fuzz:
	$(Q)$(MAKE) --no-print-directory CC=$(FUZZ_CC) SANITIZER=fuzzer-no-link,address,undefined \
		BUILD=$(FUZZ_BUILD) fuzz-bins
	$(Q)sh tests/fuzz/run-fuzz.sh run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-merge:
	$(Q)sh tests/fuzz/run-fuzz.sh merge $(FUZZ_BUILD) 0 $(FUZZ_NAMES)

# Evasion corpus (tests/evasion/, generator tests/tools/gen_evasion.c).
check-evasion: all
	$(Q)sh tests/run-evasion.sh $(BUILD)

# Floods sized for CI; `make stress` runs the full sizes.
check-flood: all
	$(Q)sh tests/run-flood.sh $(BUILD)

stress: all
	$(Q)FLOOD_SYNS=1000000 FLOOD_LINE_MB=256 FLOOD_TINY=1000000 sh tests/run-flood.sh $(BUILD)

# Hardening flags of the binary and the seccomp sandbox.
check-privs: all
	$(Q)sh tests/run-privs.sh $(BUILD)

# `make install` (PREFIX=/usr/local, DESTDIR, sysconfdir): the binary and
# starttls-guard-rules to $(SBINDIR), the rules script to $(LIBEXECDIR),
# the sample configuration to $(sysconfdir)/starttls-guard/ and
# $(sysconfdir)/default/starttls-guard (neither overwritten when present;
# the sample is always also in $(DOCDIR)), systemd units to $(UNITDIR), the
# logrotate snippet to $(sysconfdir)/logrotate.d, man pages to $(MANDIR).
# A system install: make install PREFIX=/usr sysconfdir=/etc.
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(sysconfdir)|g' \
	-e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@LOGDIR@|$(LOGDIR)|g'
MANPAGES := man/starttls-guard.8 man/starttls-guard.conf.5

install: $(BIN)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(sysconfdir)/starttls-guard \
		$(DESTDIR)$(sysconfdir)/default $(DESTDIR)$(sysconfdir)/logrotate.d \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/starttls-guard
	$(INSTALL) -m 0755 netns-scripts/rules.sh $(DESTDIR)$(LIBEXECDIR)/rules.sh
	$(SUBST) deploy/starttls-guard-rules.in >$(DESTDIR)$(SBINDIR)/starttls-guard-rules
	chmod 0755 $(DESTDIR)$(SBINDIR)/starttls-guard-rules
	$(SUBST) deploy/starttls-guard.service.in >$(DESTDIR)$(UNITDIR)/starttls-guard.service
	$(SUBST) deploy/starttls-guard-rules.service.in >$(DESTDIR)$(UNITDIR)/starttls-guard-rules.service
	$(SUBST) deploy/starttls-guard.logrotate.in >$(DESTDIR)$(sysconfdir)/logrotate.d/starttls-guard
	chmod 0644 $(DESTDIR)$(UNITDIR)/starttls-guard.service \
		$(DESTDIR)$(UNITDIR)/starttls-guard-rules.service \
		$(DESTDIR)$(sysconfdir)/logrotate.d/starttls-guard
	$(INSTALL) -m 0644 man/starttls-guard.8 $(DESTDIR)$(MANDIR)/man8/starttls-guard.8
	$(INSTALL) -m 0644 man/starttls-guard.conf.5 $(DESTDIR)$(MANDIR)/man5/starttls-guard.conf.5
	$(INSTALL) -m 0644 starttls-guard.conf $(DESTDIR)$(DOCDIR)/starttls-guard.conf.example
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	$(INSTALL) -m 0644 doc/detection.md doc/siem.md $(DESTDIR)$(DOCDIR)/
	@# Never overwrite an operator's configuration.
	[ -e $(DESTDIR)$(sysconfdir)/starttls-guard/starttls-guard.conf ] || \
		$(INSTALL) -m 0644 starttls-guard.conf $(DESTDIR)$(sysconfdir)/starttls-guard/starttls-guard.conf
	[ -e $(DESTDIR)$(sysconfdir)/default/starttls-guard ] || \
		$(INSTALL) -m 0644 deploy/starttls-guard.default $(DESTDIR)$(sysconfdir)/default/starttls-guard

# Leaves the configuration ($(sysconfdir)/starttls-guard, default file) in place.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/starttls-guard $(DESTDIR)$(SBINDIR)/starttls-guard-rules
	rm -f $(DESTDIR)$(UNITDIR)/starttls-guard.service $(DESTDIR)$(UNITDIR)/starttls-guard-rules.service
	rm -f $(DESTDIR)$(sysconfdir)/logrotate.d/starttls-guard
	rm -f $(DESTDIR)$(MANDIR)/man8/starttls-guard.8 $(DESTDIR)$(MANDIR)/man5/starttls-guard.conf.5
	rm -rf $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DOCDIR)

# Operators' view (issue 8): install into a temporary DESTDIR, outputs.
check-operators: all
	$(Q)sh tests/run-operators.sh $(BUILD)

# ---- Debian package (issue 17) ------------------------------------------
# `make deb`: dpkg-buildpackage -us -uc -b on a copy of the tree, the .deb
# into DEBDIR (default: here, .gitignore'd): apt install ./starttls-guard_*.deb
# `make check-package` (root): build it, lintian, install it on this
# machine, check and purge it; promtool on the metrics of real runs and on
# deploy/'s alerting rules; every metric of the dashboard and rules exists.
DEBDIR ?= .

deb:
	$(Q)sh debian/make-deb.sh $(DEBDIR)

check-package: all
	$(Q)sh tests/run-package.sh $(BUILD)

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
