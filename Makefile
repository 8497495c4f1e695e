# SPDX-License-Identifier: GPL-3.0-or-later
# A thin front door: everything real is in meson.build.
BUILD ?= build
MESON_OPTS ?=

.PHONY: all deps build run test bench clean

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

bench: build
	$(BUILD)/src/bench/siglens-bench $(ARGS)

clean:
	rm -rf $(BUILD)
