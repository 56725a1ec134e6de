# Two commands on a fresh machine with Python 3.11 (see README):
#   make book   -- build the book at full scale (executes every notebook), then check the
#                  built site: every page in headless Chromium (tests/test_site.py, test_browser.py)
#   make test   -- unit tests + every notebook at smoke scale
# Each creates the virtual environment .venv from requirements.txt on first use.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: book test venv clean

$(BIN)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; run e.g. 'make book PYTHON=python3'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

venv: $(BIN)/.installed

book: $(BIN)/.installed
	$(BIN)/jupyter-book build . -W -n --keep-going
	BANDITS_BOOK_HTML=_build/html $(BIN)/python -m pytest tests/test_site.py tests/test_browser.py -p no:cacheprovider -q

test: $(BIN)/.installed
	BANDITS_SMOKE=1 timeout --kill-after=60 1800 $(BIN)/python -m pytest bandits_lib tests chapters --doctest-modules --nbval-lax --nbval-current-env -p no:cacheprovider -n 2 --dist loadgroup

clean:
	rm -rf _build
