# headbake — every target installs what it needs first (fresh machine friendly).
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_SPEC ?= torch==2.13.0
CONFIG ?= configs/synthetic.yaml
TINY := configs/tiny.yaml
NPM_STAMP := web_player/node_modules/.installed
EXPORT_JS_STAMP := export/js/node_modules/.installed

.PHONY: all venv sysdeps web test test-py test-web demo bench eval android synth clean

all: test

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	# torch first: here `torch==2.13.0` is a CPU build on local disk; elsewhere any torch>=2.4 works
	$(VPY) -m pip install -q "$(TORCH_SPEC)" || $(VPY) -m pip install -q "torch>=2.4"
	$(VPY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(STAMP)

# Debian packages: Chromium for the browser tests, Android build tools for the APK.
sysdeps:
	@bash scripts/sysdeps.sh

$(NPM_STAMP): web_player/package.json
	cd web_player && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund)
	touch $@

$(EXPORT_JS_STAMP): export/js/package.json
	cd export/js && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund)
	touch $@

web: $(NPM_STAMP) $(EXPORT_JS_STAMP)

test: venv sysdeps web
	@bash scripts/test.sh

demo: venv web
	@bash scripts/demo.sh $(CONFIG)

synth: venv
	$(VPY) -m train.synth -c $(CONFIG)

eval: venv
	$(VPY) -m train.eval -c $(CONFIG)

bench: venv web
	@bash scripts/bench.sh $(CONFIG)

android: venv sysdeps web
	@bash android_player/build.sh

clean:
	rm -rf runs dist data/synthetic_tiny data/synthetic_cpu
