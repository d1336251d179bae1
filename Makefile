# Two commands do all the set-up on a fresh machine (see README):
#   make book   -> .venv + pinned deps + the executed book (small preset) in _build/html
#   make test   -> .venv + pinned deps + unit tests, notebooks (nbval), built-book browser tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: env book test unit nbval clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

env: $(STAMP)

# --all: every page is re-read, so every chapter re-executes with the package as it is now
# and the scoreboard shows this build's claims. The vendored JS is fetched on the first build
# (npm registry) and cached in .cache/.
book: $(STAMP)
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not browser"

nbval: $(STAMP)
	$(BIN)/python -m pytest -q --nbval-lax --nbval-current-env -p no:cacheprovider notebooks

# browser-marked tests check the built site (links, page weight, headless Chromium offline)
test: unit nbval book
	$(BIN)/python -m pytest -q -m browser

clean:
	rm -rf _build
