# The two commands a fresh machine needs: `make app` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install fonts browser app test lint bench data screenshots wheel clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null && \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

# Chinese text in the evaluation report (PDF, map figures): Debian's Noto CJK.
fonts:
	@if ! fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null; \
	fi

# Browser tests drive Debian's chromium (never a browser download); CJK fonts so Chinese renders.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'cjk\|wqy'; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
			chromium fonts-noto-cjk >/dev/null; \
	fi

app: $(STAMP) fonts
	$(BIN)/towncover app --port $(PORT)

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

# The README's screenshots, taken by the browser tests, and the report's pages (pdftoppm, Debian's poppler-utils).
screenshots: $(STAMP) browser
	@command -v pdftoppm >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq poppler-utils >/dev/null; }
	TOWNCOVER_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser tests/test_document.py::test_report_pages_for_the_readme

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# A wheel that carries data/, static/ and app.py (tests/test_wheel.py installs one outside the checkout).
wheel: $(STAMP)
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation -w dist .

data: $(STAMP)
	$(BIN)/python data/build_gazetteer.py
	$(BIN)/python data/build_outlines.py
	$(BIN)/python data/build_cells.py
	$(BIN)/python data/build_demo.py
	$(BIN)/python data/build_eval.py
	$(BIN)/python data/build_history.py
	$(BIN)/python data/build_eval_field.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
