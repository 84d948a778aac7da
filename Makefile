# starttls-guard - one plain Makefile. `make V=1` shows commands,
# `make SANITIZER=address` (or undefined, or address,undefined) builds with
# sanitizers into build-<name>/, `make WERROR=1` as CI does.

CC         ?= cc
PKG_CONFIG ?= pkg-config
PREFIX     ?= /usr/local
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

LIBS_PKG := libpcap libconfig libnetfilter_queue libmnl
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
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(SANFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -I.
ALL_LDFLAGS = $(LDHARDEN) $(SANFLAGS) $(LDFLAGS)
LDLIBS_ALL  = $(PKG_LIBS) -lpthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

INSPECT_SRC := $(wildcard inspect/*.c)
POLICY_SRC  := $(wildcard policy/*.c)
NFQ_SRC     := $(wildcard nfq/*.c)
GW_SRC      := $(filter-out gateway/gw_main.c,$(wildcard gateway/*.c))
LIB_SRC     := $(INSPECT_SRC) $(POLICY_SRC) $(NFQ_SRC) $(GW_SRC)
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)

UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

TOOL_SRC    := $(wildcard tests/tools/*.c)
TOOL_BIN    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

BIN := $(BUILD)/starttls-guard

.PHONY: all deps check check-unit check-asan check-golden check-badinput \
	check-integ demo install clean fixtures bench

all: $(BIN) $(UNIT_BIN) $(TOOL_BIN)

$(BIN): $(BUILD)/obj/gateway/gw_main.o $(BUILD)/libstg.a
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/libstg.a: $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libstg.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL) -lcmocka

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(BUILD)/libstg.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

deps:
	$(Q)sh .ci/install-deps

check-unit: $(UNIT_BIN)
	$(Q)sh tests/run-unit.sh $(BUILD)

check-asan:
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined check-unit

check: deps all
	$(Q)sh tests/run-all.sh $(BUILD)

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
