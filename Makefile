# mdv — build, run and test the suite.
#
#   make            build the services and tools into build/
#   make up / down  start / stop the local stack (PostgreSQL, Kafka, services)
#   make up SCALE="student=3"   several instances of a service (deploy/local/stack.sh)
#   make test       unit tests, then end-to-end tests on a throw-away stack
#   make SANITIZE=1 test   the same under AddressSanitizer + UBSan (build/asan)

SERVICES := gateway identity student bereavement housing abroad
TOOLS    := token seed topics

SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD    ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD    ?= build
SANFLAGS :=
endif

PKGS     := rdkafka libpq libmicrohttpd libprotobuf-c jansson libjwt libcrypto uuid
CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
            -Iinclude -I$(BUILD)/gen $(SANFLAGS) $(shell pkg-config --cflags $(PKGS))
LDFLAGS  += $(SANFLAGS)
LDLIBS   := $(shell pkg-config --libs $(PKGS)) -lpthread -lm

PROTOS   := $(shell find proto -name '*.proto' | sort)
PB_C     := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
PB_H     := $(PB_C:.c=.h)
LIB_SRC  := $(wildcard shared/*.c)
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(PB_C:.c=.o)
LIB      := $(BUILD)/lib/libmdv.a
BINS     := $(addprefix $(BUILD)/bin/mdv-,$(SERVICES) $(TOOLS))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all up down test unit static e2e clean format format-check
.SECONDARY:

all: $(BINS)

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	$(CC) $(CFLAGS) -Wno-shadow -c -o $@ $<

$(BUILD)/obj/%.o: %.c $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# A service is every .c file of services/<name>/ linked with the library.
define service_rule
$(BUILD)/bin/mdv-$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard services/$(1)/*.c)) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

$(BUILD)/bin/mdv-%: $(BUILD)/obj/deploy/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# Installs what is missing first: a fresh machine has no -dev packages yet.
# make up SCALE="student=3 identity=2": that many instances (remembered).
up:
	deploy/local/install-deps.sh
	$(MAKE) all
	MDV_BIN_DIR=$(CURDIR)/$(BUILD)/bin SCALE="$(SCALE)" deploy/local/stack.sh up

down:
	deploy/local/stack.sh down

e2e: all
	MDV_BIN_DIR=$(CURDIR)/$(BUILD)/bin tests/e2e/run.sh

# The deployment files checked against the code (compose, k8s, Dockerfile,
# dashboards): about a second, so a drift fails before the end-to-end run.
static:
	PYTHONDONTWRITEBYTECODE=1 "$$(tests/venv.sh)/bin/pytest" -q tests/static

test: all unit static e2e

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
