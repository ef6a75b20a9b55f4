# Two commands do all setup on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install fonts demo test check lint browser test-postgres bench bench-tools scale-demo clean prefect-yaml

# apt waits for another apt (unattended upgrades, a colleague's `make browser`) instead of failing:
# dpkg's lock through DPkg::Lock::Timeout; the package lists' lock, which `update` does not wait
# for, by trying again while apt says that lock is held (any other error stops at once).
APT_GET := LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600
APT_UPDATE := tries=0; until out=$$($(APT_GET) update 2>&1); do \
		case "$$out" in *"Could not get lock"*) ;; *) tries=999;; esac; \
		tries=$$((tries + 1)); \
		if [ $$tries -ge 300 ]; then printf '%s\n' "$$out" >&2; exit 100; fi; \
		echo "another apt holds the package lists: waiting for it"; sleep 2; \
	done; printf '%s\n' "$$out"

install: $(STAMP) fonts

# Certificate PDFs (INTERFACES §5) are set in Nanum fonts: Debian's fonts-nanum, once, when missing.
fonts:
	@if ! test -f /usr/share/fonts/truetype/nanum/NanumMyeongjo.ttf; then \
		echo "installing Debian's fonts-nanum for the certificate PDFs"; \
		$(APT_UPDATE) && $(APT_GET) install fonts-nanum; \
	fi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/sangsaeng demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# prefect.yaml is written from the step registry (flows/registry.py); a test fails when it is stale.
prefect-yaml: install
	$(BIN)/python -m flows.prefect_yaml > prefect.yaml.tmp && mv prefect.yaml.tmp prefect.yaml

# The browser test drives Debian's chromium (Playwright downloads nothing here); a Korean font
# makes its screenshots readable. The certificate PDF tests read PDFs with poppler-utils
# (pdftotext, pdffonts, pdfinfo, pdftoppm; pdfsig checks their signatures) and decode the QR
# code with zbar-tools (zbarimg).
# Installed once, when missing.
TEST_TOOLS := chromium pdftotext pdffonts pdfinfo pdftoppm pdfsig zbarimg
browser:
	@missing=; for tool in $(TEST_TOOLS); do command -v $$tool >/dev/null || missing=1; done; \
	if [ -n "$$missing" ] || ! fc-list 2>/dev/null | grep -qi nanum; then \
		echo "installing Debian's chromium, fonts-nanum, poppler-utils and zbar-tools for the tests"; \
		$(APT_UPDATE) && $(APT_GET) install chromium fonts-nanum poppler-utils zbar-tools; \
	fi

# Two pytest-xdist workers (this machine's 2 cores), a test file at a time each (--dist loadfile:
# a module's fixtures stay in one process), the `served` files one after another on one of them
# (tests/conftest.py: two real Prefect servers at once would miss their deadlines); each worker
# has its own Prefect home (tests/conftest).
test: lint browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The inner loop's fast lane (under 2 minutes): lint, types, import layers, then the unit and
# service tests — no Prefect server, no subprocess, no browser. `make test` runs them all again.
CHECK_TESTS := tests/domain tests/io tests/services tests/documents tests/mail \
	tests/test_markdown.py tests/test_spreadsheet.py tests/test_synthetic.py
check: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider $(CHECK_TESTS)

# The database tests again, against PostgreSQL (a fresh database per test, dropped afterwards),
# on two workers as `make test` (a file at a time each): most of their time is PostgreSQL's
# and the subprocesses' they wait on, so two at once beside `make test` still pays (.ci/run).
test-postgres: install
	SANGSAENG_TEST_DATABASE_URL=$${SANGSAENG_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest -m db -n 2 --dist loadfile

# The round through a Prefect server on PostgreSQL and a work pool with two workers
# (docs/deploy.md). PostgreSQL must answer on 127.0.0.1:5432 (--pg says another).
scale-demo: install
	$(BIN)/python -m sangsaeng.cli.scale $(SCALE_DEMO_ARGS)

bench: install bench-tools
	$(BIN)/python bench/round_scale.py
	$(BIN)/python bench/certificates.py
	$(BIN)/python bench/broadcast.py

# bench/broadcast.py sends to Postfix's smtp-sink (/usr/sbin/smtp-sink, Debian's postfix):
# installed once, when missing (`make bench-tools` alone readies a fresh machine for it).
bench-tools:
	@test -x /usr/sbin/smtp-sink || command -v smtp-sink >/dev/null || { \
		echo "installing Debian's postfix for bench/broadcast.py (smtp-sink)"; \
		$(APT_UPDATE) && $(APT_GET) install postfix; \
	}

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
