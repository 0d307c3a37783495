# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
CHROMIUM := /usr/lib/chromium/chromium
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test install chromium lint format test-sqlite test-postgres bench migrations

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/punctual demo

chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Chromium from Debian for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "Chromium is missing: run 'sudo apt-get install chromium' (Debian) and try again." >&2; exit 1; \
	fi

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .

test-sqlite: install chromium
	$(BIN)/python -m pytest

# The same suite on PostgreSQL when one answers on 127.0.0.1:5432 (database `test`), with Redis
# database 10 so that it can run beside the SQLite pass (database 9).
test-postgres: install
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1).close()" 2>/dev/null; then \
		TEST_DATABASE_URL=$(PG_URL) TEST_REDIS_URL=redis://127.0.0.1:6379/10 $(BIN)/python -m pytest -m "not e2e"; \
	else \
		echo "PostgreSQL is not reachable on 127.0.0.1:5432: skipping the PostgreSQL pass."; \
	fi

# The two passes share no database, so they run side by side (each one's output in one piece).
test: lint install chromium
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

bench: install
	$(BIN)/python -m bench

# Regenerate the migration from the tables (before the first release only one migration exists).
migrations: install
	DATABASE_URL=sqlite:///$$(mktemp -d)/m.sqlite $(BIN)/piccolo migrations new punctual --auto
