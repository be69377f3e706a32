# StampLib: `make run` and `make test` are the two commands a fresh machine needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DEBS := chromium fonts-noto-core fonts-dejavu-core poppler-utils tesseract-ocr
HTMX := web/static/vendor/htmx.min.js
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run test lint bench debs clean

setup: debs $(VENV)/.installed $(HTMX)

debs:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, exactly pinned: these wheels lie on this machine's disk.
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(HTMX): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $@)
	cp web/node_modules/htmx.org/dist/htmx.min.js $@

run: setup
	$(BIN)/stamplib demo

# Two workers, one per core: much of the suite waits on servers, subprocesses and a browser.
# A module's tests stay on one worker, so module fixtures (a served library, a browser) are
# built once.
test: setup
	$(BIN)/pytest --numprocesses=auto --dist=loadscope

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app vision ingestion

bench: setup
	$(BIN)/stamplib bench --out benchmarks/results

clean:
	rm -rf $(VENV) web/node_modules web/static/vendor
