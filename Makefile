# mdv — build, run and test the suite.
#
#   make            build the services and tools into build/
#   make up / down  start / stop the local stack (PostgreSQL, Kafka, services)
#   make up SCALE="student=3"   several instances of a service (deploy/local/stack.sh)
#   make test       format check, unit tests, then end-to-end tests on a throw-away stack
#   make SANITIZE=1 test   the same under AddressSanitizer + UBSan (build/asan)
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (tests/fuzz/README.md)
#   make bench      the suite measured on a durable stack of its own (README, Performance)
#   make images     every image of deploy/Dockerfile, with podman or docker (README, Images)
#   make container-test   the images run against the local stack's engines (tests/container)

SERVICES := gateway identity student bereavement housing abroad partners
TOOLS    := token seed topics simulator

SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD    ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD    ?= build
SANFLAGS :=
endif

PKGS     := rdkafka libpq libmicrohttpd libprotobuf-c jansson libjwt libcrypto uuid libcurl
CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
            -Iinclude -Iservices -I$(BUILD)/gen $(SANFLAGS) $(shell pkg-config --cflags $(PKGS))
LDFLAGS  += $(SANFLAGS)
LDLIBS   := $(shell pkg-config --libs $(PKGS)) -lpthread -lm

PROTOS   := $(shell find proto -name '*.proto' | sort)
PB_C     := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
PB_H     := $(PB_C:.c=.h)
LIB_SRC  := $(wildcard shared/*.c)
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(PB_C:.c=.o)
LIB      := $(BUILD)/lib/libmdv.a
BINS     := $(addprefix $(BUILD)/bin/mdv-,$(SERVICES) $(TOOLS))
# The COG communes with their postcodes, which the gateway checks addresses
# against (MDV_COG_COMMUNES_FILE): the npm package pinned by
# deploy/tools/cog/package-lock.json, fetched by npm ci at build time, made
# into a compact file by deploy/tools/cog/cog.js.
COG_NPM  := $(BUILD)/cog
COMMUNES := $(BUILD)/data/communes.tsv
# The usager's page (services/gateway/web): its own files and the DSFR's
# dist of the npm package pinned by services/gateway/web/package-lock.json
# (npm ci at build time, from the cache install-deps.sh fills), put together
# in $(BUILD)/web, the gateway's MDV_WEB_DIR.
WEB_NPM  := $(BUILD)/web-npm
WEB      := $(BUILD)/web/.built
WEB_SRC  := $(shell find services/gateway/web -type f ! -name 'package*.json' ! -path '*/node_modules/*')
# The browser tests' drivers (tests/browser: puppeteer-core, axe-core).
BROWSER_NPM := $(BUILD)/browser-npm/node_modules/.package-lock.json
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# Tests of a module against the real servers of the test stack, run by the
# end-to-end suite (tests/e2e/test_live.py).
LIVE_SRC := $(wildcard tests/live/test_*.c)
LIVE_BIN := $(patsubst tests/live/%.c,$(BUILD)/tests/live/%,$(LIVE_SRC))

.PHONY: all web up down test unit static openfisca e2e bench fuzz fuzz-test fuzz-seeds clean format format-check \
        images container-test
.SECONDARY:

# The local stack's OpenID provider (deploy/local/oidc): node oidc-provider
# pinned by its package-lock.json, fetched by npm ci at build time; its
# script is copied beside the node_modules it imports. A tree without
# deploy/local (the container image's build) makes no provider.
OIDC_NPM := $(BUILD)/oidc
OIDC     := $(if $(wildcard deploy/local/oidc/provider.mjs),$(OIDC_NPM)/provider.mjs)


$(OIDC_NPM)/node_modules/.package-lock.json: deploy/local/oidc/package.json \
                                            deploy/local/oidc/package-lock.json
	@mkdir -p $(OIDC_NPM)
	cp deploy/local/oidc/package.json deploy/local/oidc/package-lock.json $(OIDC_NPM)/
	cd $(OIDC_NPM) && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
	@touch $@

$(OIDC_NPM)/provider.mjs: deploy/local/oidc/provider.mjs $(OIDC_NPM)/node_modules/.package-lock.json
	cp deploy/local/oidc/provider.mjs $@

all: $(BINS) $(COMMUNES) $(WEB) $(OIDC)

web: $(WEB)

$(WEB_NPM)/node_modules/.package-lock.json: services/gateway/web/package.json \
                                           services/gateway/web/package-lock.json
	@mkdir -p $(WEB_NPM)
	cp services/gateway/web/package.json services/gateway/web/package-lock.json $(WEB_NPM)/
	cd $(WEB_NPM) && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
	@touch $@

# The forms read the work items and academic years from the barèmes the
# services load (static/rules/).
WEB_RULES := services/gateway/rules/maprimerenov.json services/student/rules/bourse.json
$(WEB): $(WEB_SRC) $(WEB_RULES) $(WEB_NPM)/node_modules/.package-lock.json
	rm -rf $(BUILD)/web
	@mkdir -p $(BUILD)/web/static/rules
	cp services/gateway/web/index.html $(BUILD)/web/
	cp -R services/gateway/web/static/. $(BUILD)/web/static/
	cp $(WEB_RULES) $(BUILD)/web/static/rules/
	cp -R $(WEB_NPM)/node_modules/@gouvfr/dsfr/dist $(BUILD)/web/static/dsfr
	@touch $@

$(BROWSER_NPM): tests/browser/package.json tests/browser/package-lock.json
	@mkdir -p $(dir $(BROWSER_NPM))
	cp tests/browser/package.json tests/browser/package-lock.json $(BUILD)/browser-npm/
	cd $(BUILD)/browser-npm && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund \
	    --loglevel=error
	@touch $@

$(COG_NPM)/node_modules/.package-lock.json: deploy/tools/cog/package.json \
                                           deploy/tools/cog/package-lock.json
	@mkdir -p $(COG_NPM)
	cp deploy/tools/cog/package.json deploy/tools/cog/package-lock.json $(COG_NPM)/
	cd $(COG_NPM) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(COMMUNES): deploy/tools/cog/cog.js $(COG_NPM)/node_modules/.package-lock.json
	@mkdir -p $(dir $@)
	node deploy/tools/cog/cog.js $(COG_NPM)/node_modules $@

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

# The contracts (DESIGN.md §5): a producer's services/<producer>/contract.c
# decodes and checks the events it publishes, and each consumer is linked
# with the contracts of the producers whose events it handles; the library
# knows no service. CONTRACTS_<consumer> := <producer>...
CONTRACTS_gateway     := partners
CONTRACTS_identity    := gateway bereavement housing abroad student
CONTRACTS_student     := gateway bereavement identity abroad
CONTRACTS_bereavement := gateway identity
CONTRACTS_housing     := gateway bereavement identity abroad
CONTRACTS_abroad      := gateway bereavement identity
CONTRACTS_partners    := bereavement identity
# contract_src(consumer): the contract files that consumer compiles in;
# contract_obj(producers): the objects of those producers' contracts.
contract_src = $(patsubst %,services/%/contract.c,$(CONTRACTS_$(1)))
contract_obj = $(patsubst %,$(BUILD)/obj/services/%/contract.o,$(1))

# A service is every .c file of services/<name>/ (but its own contract.c,
# which is for its consumers) and the contracts it consumes, linked with
# the library.
service_src = $(filter-out services/$(1)/contract.c,$(wildcard services/$(1)/*.c)) \
              $(call contract_src,$(1))
define service_rule
$(BUILD)/bin/mdv-$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(call service_src,$(1))) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

$(BUILD)/bin/mdv-%: $(BUILD)/obj/deploy/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS)

# A tool of more than one file names the others here.
$(BUILD)/bin/mdv-seed: $(BUILD)/obj/deploy/tools/seed_records.o
$(BUILD)/bin/mdv-topics: $(BUILD)/obj/deploy/tools/topics_acls.o
$(BUILD)/bin/mdv-simulator: $(BUILD)/obj/deploy/tools/simulator_webhook.o \
                           $(BUILD)/obj/deploy/tools/simulator_cnav.o

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The gateway's COG tables, tested on the real files: the module and the
# communes the build made.
$(BUILD)/obj/tests/unit/test_cog.o: CFLAGS += -DMDV_TEST_COMMUNES='"$(CURDIR)/$(COMMUNES)"' \
    -DMDV_TEST_COUNTRIES='"$(CURDIR)/services/gateway/rules/countries.tsv"'
$(BUILD)/tests/test_cog: $(BUILD)/obj/tests/unit/test_cog.o $(BUILD)/obj/services/gateway/cog.o \
                         $(LIB) | $(COMMUNES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS) -lcmocka

# The abroad service's checks and rules, tested on the rules it ships.
ABROAD_UNIT := consulates dates messages
$(BUILD)/obj/tests/unit/test_abroad.o: CFLAGS += \
    -DMDV_TEST_ABROAD_RULES='"$(CURDIR)/services/abroad/rules"'
$(BUILD)/tests/test_abroad: $(BUILD)/obj/tests/unit/test_abroad.o \
                            $(patsubst %,$(BUILD)/obj/services/abroad/%.o,$(ABROAD_UNIT)) \
                            $(call contract_obj,gateway) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# student's contract: what its consumers accept of its events.
$(BUILD)/tests/test_student_contract: $(BUILD)/obj/tests/unit/test_student_contract.o \
                                      $(BUILD)/obj/services/student/contract.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The partners' entitlements and projections, tested on the rules they ship.
PARTNERS_UNIT := entitlements projections schedule deliveries
$(BUILD)/obj/tests/unit/test_partners.o: CFLAGS += \
    -DMDV_TEST_PARTNERS_RULES='"$(CURDIR)/services/partners/rules"'
$(BUILD)/tests/test_partners: $(BUILD)/obj/tests/unit/test_partners.o \
                              $(patsubst %,$(BUILD)/obj/services/partners/%.o,$(PARTNERS_UNIT)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The bourse engine, tested on the rules the student service ships.
$(BUILD)/obj/tests/unit/test_grant.o: CFLAGS += \
    -DMDV_TEST_STUDENT_RULES='"$(CURDIR)/services/student/rules"'
$(BUILD)/tests/test_grant: $(BUILD)/obj/tests/unit/test_grant.o \
                           $(BUILD)/obj/services/student/grant.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The producers' contracts, tested as their consumers link them; the
# steps the reacting services may add, on the files they ship.
$(BUILD)/obj/tests/unit/test_reaction.o: CFLAGS += -DMDV_TEST_SERVICES='"$(CURDIR)/services"'
$(BUILD)/tests/test_reaction: $(BUILD)/obj/tests/unit/test_reaction.o \
                              $(call contract_obj,identity abroad) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/tests/test_contracts: $(BUILD)/obj/tests/unit/test_contracts.o \
                               $(call contract_obj,gateway bereavement identity partners) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The MaPrimeRénov' engine, tested on the barème the housing service ships.
$(BUILD)/obj/tests/unit/test_renovation.o: CFLAGS += \
    -DMDV_TEST_HOUSING_RULES='"$(CURDIR)/services/housing/rules"'
$(BUILD)/tests/test_renovation: $(BUILD)/obj/tests/unit/test_renovation.o \
                                $(BUILD)/obj/services/housing/bareme.o \
                                $(BUILD)/obj/services/housing/estimate.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# identity's comparison of a dwelling with the recorded address.
$(BUILD)/tests/test_residence: $(BUILD)/obj/tests/unit/test_residence.o \
                               $(BUILD)/obj/services/identity/residence.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# What the gateway asks identity of a usager, and how identity reads it.
$(BUILD)/tests/test_known: $(BUILD)/obj/tests/unit/test_known.o \
                           $(BUILD)/obj/services/gateway/known.o \
                           $(BUILD)/obj/services/identity/lookup_check.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The partners' messages as JSON, for the end-to-end tests that play a
# partner (tests/e2e/test_partners.py).
PARTNER_CODEC := $(BUILD)/tests/partner_codec
$(PARTNER_CODEC): $(BUILD)/obj/tests/tools/partner_codec.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The gateway's cache of journeys' answers.
$(BUILD)/tests/test_journey_cache: $(BUILD)/obj/tests/unit/test_journey_cache.o \
                                   $(BUILD)/obj/services/gateway/journey_cache.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The gateway's HTML escaping and French renderings.
$(BUILD)/tests/test_html: $(BUILD)/obj/tests/unit/test_html.o $(BUILD)/obj/services/gateway/html.o \
                          $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Journey events from JSON, for the end-to-end tests that play a step's
# owner with times of their choosing (tests/e2e/test_indicators.py).
JOURNEY_EVENTS := $(BUILD)/tests/journey_events
$(JOURNEY_EVENTS): $(BUILD)/obj/tests/tools/journey_events.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/live/%: $(BUILD)/obj/tests/live/%.o $(LIB)
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

e2e: all $(LIVE_BIN) $(PARTNER_CODEC) $(JOURNEY_EVENTS) $(BROWSER_NPM)
	MDV_BIN_DIR=$(CURDIR)/$(BUILD)/bin tests/e2e/run.sh

# The measuring harness (DESIGN.md §12, README "Performance"): a stack of
# its own with a durable PostgreSQL, open-loop load at BENCH_RATES (one
# step of BENCH_STEP_SECONDS each, until completions fall behind), latency
# at 25/50/75 % of the saturation rate, pgbench and nginx as limits; writes
# build/bench/<time>.json. A few minutes; never part of make test.
BENCH_RATES           ?= 10 20 30 45 65 90 130 190 280 400 560
BENCH_STEP_SECONDS    ?= 10
BENCH_LATENCY_SECONDS ?= 10
BENCH_PERSONS         ?= 24000
bench: all
	MDV_BIN_DIR=$(CURDIR)/$(BUILD)/bin BENCH_RATES="$(BENCH_RATES)" \
	    BENCH_STEP_SECONDS=$(BENCH_STEP_SECONDS) BENCH_LATENCY_SECONDS=$(BENCH_LATENCY_SECONDS) \
	    BENCH_PERSONS=$(BENCH_PERSONS) tests/bench/run.sh

# The images of deploy/Dockerfile (one per service, and tools), built by
# podman or docker from a Debian base made with debootstrap when no registry
# can be reached (pinned in deploy/container/base-image.lock): README,
# "Images". Needs root for debootstrap; never part of make test.
IMAGE_TAG ?= dev
images:
	MDV_IMAGE_TAG=$(IMAGE_TAG) deploy/container/images.sh

# Every service as its image against the local stack's PostgreSQL and Kafka
# (tests/container): host network, the compose file's environment, student
# at three containers with one SIGKILLed and one SIGTERMed during a burst.
# Never part of make test: README, "Images".
container-test: images all
	MDV_BIN_DIR=$(CURDIR)/$(BUILD)/bin MDV_IMAGE_TAG=$(IMAGE_TAG) tests/container/run.sh

# The deployment files checked against the code (compose, k8s, Dockerfile,
# dashboards): about a second, so a drift fails before the end-to-end run.
static:
	PYTHONDONTWRITEBYTECODE=1 "$$(tests/venv.sh)/bin/pytest" -q tests/static

# The bourse engine held against openfisca-france on generated households
# (tests/openfisca): the engine as a JSON-lines filter, and a venv of its
# own (openfisca-core pins an older pytest than the end-to-end suite).
GRANT_DRIVER := $(BUILD)/tests/openfisca/grant_driver
$(GRANT_DRIVER): $(BUILD)/obj/tests/openfisca/grant_driver.o $(BUILD)/obj/services/student/grant.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

openfisca: $(GRANT_DRIVER)
	MDV_GRANT_DRIVER=$(CURDIR)/$(GRANT_DRIVER) PYTHONDONTWRITEBYTECODE=1 \
	    "$$(tests/venv.sh openfisca)/bin/pytest" -q tests/openfisca

# Fuzzing with libFuzzer: clang only, built apart into build/fuzz (never
# part of the gcc build), under ASan + UBSan. make test runs each target a
# few seconds; make fuzz as long as FUZZ_SECONDS says.
FUZZ_CC           ?= clang
FUZZ              := build/fuzz
FUZZ_TARGETS      ?= declaration confirmation cloudevents protobuf jwt
FUZZ_SECONDS      ?= 600
FUZZ_TEST_SECONDS ?= 5
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -Wshadow -Iinclude -Iservices \
               -I$(FUZZ)/gen $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
               $(shell pkg-config --cflags $(PKGS))
FUZZ_PB_C   := $(patsubst proto/%.proto,$(FUZZ)/gen/%.pb-c.c,$(PROTOS))
FUZZ_LIB    := $(FUZZ)/lib/libmdv.a
FUZZ_BINS   := $(addprefix $(FUZZ)/bin/fuzz-,$(FUZZ_TARGETS))
# What each target links besides the library, and how.
# The gateway's body checks and what they use (the COG tables).
FUZZ_GATEWAY_BODY    := services/gateway/validation.c \
                        services/gateway/validation_identity.c \
                        services/gateway/validation_abroad.c services/gateway/address.c \
                        services/gateway/cog.c services/gateway/validation_renovation.c \
                        services/gateway/renovation_items.c services/gateway/validation_student.c \
                        services/gateway/recipients.c
# The contracts of the producers (services/<producer>/contract.c).
FUZZ_CONTRACTS       := $(patsubst %,services/%/contract.c,gateway bereavement identity abroad housing \
                          student)
FUZZ_SRC_declaration := $(FUZZ_GATEWAY_BODY) services/gateway/submission.c \
                        services/bereavement/messages.c services/identity/messages.c \
                        services/abroad/messages.c services/housing/declaration.c \
                        services/gateway/contract.c
FUZZ_SRC_confirmation := $(FUZZ_GATEWAY_BODY)
FUZZ_SRC_protobuf    := services/gateway/projection.c services/bereavement/messages.c \
                        services/identity/messages.c services/abroad/messages.c \
                        $(FUZZ_CONTRACTS) services/housing/declaration.c
FUZZ_LINK_cloudevents := -Wl,--wrap=rd_kafka_message_headers
FUZZ_LINK_declaration := -Wl,--wrap=mdv_http_header -Wl,--wrap=mdv_http_field_error
FUZZ_LINK_confirmation := -Wl,--wrap=mdv_http_header

$(FUZZ)/gen/%.pb-c.c $(FUZZ)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(FUZZ)/gen
	protoc-c --proto_path=proto --c_out=$(FUZZ)/gen $<

$(FUZZ)/gen/%.pb-c.o: $(FUZZ)/gen/%.pb-c.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-shadow -c -o $@ $<

$(FUZZ)/obj/%.o: %.c $(FUZZ_PB_C:.c=.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_KEYS_DIR='"$(CURDIR)/tests/fuzz/keys"' \
	    -DFUZZ_COG_COMMUNES='"$(CURDIR)/$(COMMUNES)"' \
	    -DFUZZ_COG_COUNTRIES='"$(CURDIR)/services/gateway/rules/countries.tsv"' \
	    -DFUZZ_RENOVATION_RULES='"$(CURDIR)/services/gateway/rules/maprimerenov.json"' \
	    -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(patsubst %.c,$(FUZZ)/obj/%.o,$(LIB_SRC)) $(FUZZ_PB_C:.c=.o)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

define fuzz_rule
$(FUZZ)/bin/fuzz-$(1): $(patsubst %.c,$(FUZZ)/obj/%.o,tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1))) \
                       $(FUZZ_LIB)
	@mkdir -p $$(dir $$@)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $(FUZZ_LINK_$(1)) -o $$@ $$^ $(LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

# Rewrites the generated seeds (packed protobufs, signed tokens) in the
# corpus; run it when a contract changes.
fuzz-seeds: $(BUILD)/tests/fuzz-seeds
	$< tests/fuzz/corpus tests/fuzz/keys

$(BUILD)/tests/fuzz-seeds: $(BUILD)/obj/tests/fuzz/seeds.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz: $(FUZZ_BINS) $(COMMUNES)
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-test: $(FUZZ_BINS) $(COMMUNES)
	tests/fuzz/run.sh $(FUZZ_TEST_SECONDS) $(FUZZ_TARGETS)

# format-check first: a tree clang-format would change fails at once.
test: all format-check unit static openfisca fuzz-test e2e

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(FUZZ)/obj -name '*.d' 2>/dev/null)
