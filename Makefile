# SPDX-License-Identifier: GPL-3.0-or-later
# A thin front door: everything real is in meson.build.
BUILD ?= build
MESON_OPTS ?=

.PHONY: all deps build run test bench fuzz clean

all: build

deps:
	@build-aux/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

# Runs the app from the build tree: schemas and resources come from there, nothing is installed.
run: build
	GSETTINGS_SCHEMA_DIR=$(BUILD)/data $(BUILD)/src/app/siglens $(ARGS)

# Every test, GUI ones included, under a private X server and session bus.
test: build
	xvfb-run -a -s "-screen 0 2600x1600x24" \
	  dbus-run-session -- meson test -C $(BUILD) --print-errorlogs $(TESTS)

# Each fuzz target (tests/fuzz) for FUZZ_SECONDS under libFuzzer, in a clang build with ASan and
# UBSan. The corpus grows in $(FUZZ_BUILD)/fuzz-corpus, seeded from tests/fuzz/corpus; a crash
# lands in $(FUZZ_BUILD)/fuzz-artifacts (copy it to tests/fuzz/regressions/<target>/ once fixed).
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz-safetensors fuzz-config fuzz-tokenizer-load fuzz-tokenize fuzz-preprocess \
	fuzz-decode fuzz-hub-parse fuzz-weight-cache

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=true -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dbuildtype=debugoptimized

fuzz: deps $(FUZZ_BUILD)/build.ninja
	meson compile -C $(FUZZ_BUILD) $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/fuzz-corpus/$$t $(FUZZ_BUILD)/fuzz-artifacts; \
	  echo "== $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/tests/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
	    -rss_limit_mb=3072 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/fuzz-artifacts/$$t- \
	    $(FUZZ_BUILD)/fuzz-corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

bench: build
	$(BUILD)/src/bench/siglens-bench $(ARGS)

clean:
	rm -rf $(BUILD)
