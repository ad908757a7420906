# make demo: create .venv, install, build the synthetic world, train the audio encoder and
#   the Motion Generator on it (:runlocal), evaluate that against its baselines (JSON).
# make test: create .venv if needed, run the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= $(CURDIR)/.data/tfds
DEMO_WORKDIR ?= $(CURDIR)/runs/demo
PYTEST_ARGS ?=

.PHONY: install demo test clean

install: $(STAMP)

# uv installs the same requirements as pip, several times faster; pip is the fallback.
# Bytecode is compiled at install (as pip does; about 30 s on 2 cores): where nothing may
# write __pycache__ (PYTHONDONTWRITEBYTECODE), every process would otherwise compile what
# it imports, about 6 s for jax + flax + tensorflow.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	( $(BIN)/python -m pip install -q uv && \
	  $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]' ) || \
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m data_prep.build synthetic_talking_heads --data_dir $(DATA_DIR)
	$(BIN)/python -m stylehead_jax.train --config configs/audio_encoder.py:runlocal \
	  --config.data.data_dir=$(DATA_DIR) --workdir $(DEMO_WORKDIR)/audio_encoder
	$(BIN)/python -m stylehead_jax.train --config configs/motion_generator.py:runlocal \
	  --config.data.data_dir=$(DATA_DIR) --config.audio.encoder_workdir=$(DEMO_WORKDIR)/audio_encoder \
	  --workdir $(DEMO_WORKDIR)/motion_generator
	$(BIN)/python -m stylehead_jax.evaluate --config configs/motion_generator.py:runlocal \
	  --config.data.data_dir=$(DATA_DIR) --config.audio.encoder_workdir=$(DEMO_WORKDIR)/audio_encoder \
	  --workdir $(DEMO_WORKDIR)/motion_generator --json $(DEMO_WORKDIR)/motion_generator/eval.json

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS) tests

clean:
	rm -rf $(VENV) .data runs .pytest_cache
