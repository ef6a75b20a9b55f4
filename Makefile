# Two commands do all setup on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint browser test-postgres bench clean

install: $(STAMP)

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

# The browser test drives Debian's chromium (Playwright downloads nothing here); a Korean font
# makes its screenshots readable. Installed once, when missing.
browser:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi nanum; then \
		echo "installing Debian's chromium and fonts-nanum for the browser test"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-nanum; \
	fi

test: lint browser
	$(BIN)/python -m pytest

# The database tests again, against PostgreSQL (a fresh database per test, dropped afterwards).
test-postgres: install
	SANGSAENG_TEST_DATABASE_URL=$${SANGSAENG_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest -m db

bench: install
	$(BIN)/python bench/round_scale.py
	command -v smtp-sink >/dev/null || test -x /usr/sbin/smtp-sink || \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix)
	$(BIN)/python bench/broadcast.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
