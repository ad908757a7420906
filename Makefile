# make demo: create .venv, install the locked versions, then animate a real photograph with
#   real speech (../shared/data/real: face_dt_face3.png, speech_jfk_en.wav; no stage saw
#   either) with the shipped model set, pretrained/, and print the video's figures
#   (eval/demo_real.py): DEMO_REAL_DIR/animation.mp4, contact_sheet.png, animation.json.
# make pretrained: train, calibrate and measure the shipped set on the clips whose licence
#   lets weights ship (configs/motion_generator.py:real,shipped) and export it to
#   pretrained/ with its MANIFEST.json (eval/export_pretrained.py), in PRETRAINED_WORKDIR.
# make demo-train: create .venv, install the locked versions, build the synthetic world, train the
#   audio encoder and the Motion Generator on it (:runlocal, 3 seeds), fit each run's head
#   sampling on the validation speakers (eval/calibrate_pose.py), evaluate each against
#   its baselines and report the figures as mean and spread over the seeds (JSON); train
#   Style Mapping and the Style-Aware Generator (:runlocal, DEMO_IMAGE_STEPS steps each),
#   then animate a held-out speaker in a held-out style and report the video's figures
#   (eval/demo_animation.py).
#   Last, eval/check_demo_figures.py compares the figures it wrote with the README's.
# make test: create .venv if needed, run the quick tier of tests (not the ones marked slow).
# make test-all: every test (what CI runs). Both spread the test modules over TEST_WORKERS
#   processes (pytest-xdist; auto: one per core); TEST_WORKERS=0 runs them in this one.
# make motion-real: build the real clips (data_prep/real_clips.py), train the Motion
#   Generator for real speech on them and the synthetic world (configs/motion_generator.py
#   :real), fit its head sampling and mouth gain on their validation split and report the
#   Real mouth figures on their test split (eval/real_mouth.py), into REAL_WORKDIR.
# make mouth-painter: build the real clips, train the Mouth Painter on their train split
#   (configs/mouth_painter.py, about 40 min on 2 cores) and evaluate it on their test
#   split against the warp (JSON and contact sheets), into MOUTH_PAINTER_WORKDIR.
# make lock: re-resolve requirements.lock from pyproject.toml's ranges (then run make demo
#   and say in the README which versions the figures were measured with).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
DATA_DIR ?= $(CURDIR)/.data/tfds
DEMO_WORKDIR ?= $(CURDIR)/runs/demo
DEMO_SEEDS ?= 0 1 2
DEMO_IMAGE_STEPS ?= 200
REAL_WORKDIR ?= $(CURDIR)/runs/motion_real
DEMO_REAL_DIR ?= $(CURDIR)/runs/demo_real
PRETRAINED_WORKDIR ?= $(CURDIR)/runs/pretrained
MOUTH_PAINTER_WORKDIR ?= $(CURDIR)/runs/mouth_painter
PYTEST_ARGS ?=
TEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile
# make demo's head-motion figures (evaluators/motion.py)
POSE_RATIOS := pose_amplitude_ratio_yaw,pose_amplitude_ratio_pitch,pose_amplitude_ratio_roll,pose_amplitude_ratio_x,pose_amplitude_ratio_y,pose_speed_ratio_yaw,pose_speed_ratio_pitch,pose_speed_ratio_roll,pose_speed_ratio_x,pose_speed_ratio_y

.PHONY: install demo demo-train pretrained motion-real mouth-painter test test-all lock clean

install: $(STAMP)

$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv

# The locked versions first, then the project itself without re-resolving anything. uv
# installs several times faster than pip, which is the fallback. Bytecode is compiled at
# install (as pip does; about 30 s on 2 cores): where nothing may write __pycache__
# (PYTHONDONTWRITEBYTECODE), every process would otherwise compile what it imports.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	( $(BIN)/python -m pip install -q uv && \
	  $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r $(LOCK) && \
	  $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python --no-deps -e . ) || \
	( $(BIN)/python -m pip install -q -r $(LOCK) && \
	  $(BIN)/python -m pip install -q --no-deps -e . )
	touch $(STAMP)

lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra perceptual --universal --python-version 3.11 \
	  -o $(LOCK)

demo: $(STAMP)
	$(BIN)/python eval/demo_real.py --out_dir $(DEMO_REAL_DIR)

demo-train: $(STAMP)
	$(BIN)/python -m data_prep.build synthetic_talking_heads --data_dir $(DATA_DIR)
	$(BIN)/python -m stylehead_jax.train --config configs/audio_encoder.py:runlocal \
	  --config.data.data_dir=$(DATA_DIR) --workdir $(DEMO_WORKDIR)/audio_encoder
	for seed in $(DEMO_SEEDS); do \
	  $(BIN)/python -m stylehead_jax.train --config configs/motion_generator.py:runlocal \
	    --config.data.data_dir=$(DATA_DIR) --config.audio.encoder_workdir=$(DEMO_WORKDIR)/audio_encoder \
	    --config.seed=$$seed --workdir $(DEMO_WORKDIR)/motion_generator/seed_$$seed && \
	  $(BIN)/python eval/calibrate_pose.py --config configs/motion_generator.py:runlocal \
	    --config.data.data_dir=$(DATA_DIR) --config.audio.encoder_workdir=$(DEMO_WORKDIR)/audio_encoder \
	    --workdir $(DEMO_WORKDIR)/motion_generator/seed_$$seed --iterations 10 --draws 2 \
	    --flags $(DEMO_WORKDIR)/motion_generator/seed_$$seed/pose_sampling.flags --write && \
	  $(BIN)/python -m stylehead_jax.evaluate --config configs/motion_generator.py:runlocal \
	    --config.data.data_dir=$(DATA_DIR) --config.audio.encoder_workdir=$(DEMO_WORKDIR)/audio_encoder \
	    --config.seed=$$seed --workdir $(DEMO_WORKDIR)/motion_generator/seed_$$seed \
	    $$(cat $(DEMO_WORKDIR)/motion_generator/seed_$$seed/pose_sampling.flags) \
	    --json $(DEMO_WORKDIR)/motion_generator/seed_$$seed/eval.json || exit 1; \
	done
	$(BIN)/python eval/seeds.py $(DEMO_WORKDIR)/motion_generator/seed_*/eval.json \
	  --headline lmd,d_l,d_v,no_motion_lmd,no_motion_d_l,no_motion_d_v,pose_window_distance,pose_window_distance_still,$(POSE_RATIOS) --json $(DEMO_WORKDIR)/motion_generator/eval.json
	$(BIN)/python -m stylehead_jax.train --config configs/style_mapping.py:runlocal \
	  --config.data.data_dir=$(DATA_DIR) --config.total_steps=$(DEMO_IMAGE_STEPS) \
	  --config.evals.isp.max_clips=4 --workdir $(DEMO_WORKDIR)/style_mapping
	$(BIN)/python -m stylehead_jax.train --config configs/style_aware_generator.py:runlocal \
	  --config.data.data_dir=$(DATA_DIR) --config.total_steps=$(DEMO_IMAGE_STEPS) \
	  --config.evals.frames.max_clips=2 --workdir $(DEMO_WORKDIR)/style_aware_generator
	$(BIN)/python eval/demo_animation.py --data_dir $(DATA_DIR) --checkpoints $(DEMO_WORKDIR) \
	  --motion_generator $(DEMO_WORKDIR)/motion_generator/seed_0 --out_dir $(DEMO_WORKDIR)
	$(BIN)/python eval/check_demo_figures.py --runs $(DEMO_WORKDIR)

MG_REAL := --config configs/motion_generator.py:real --config.data.data_dir=$(DATA_DIR) \
  --workdir $(REAL_WORKDIR)
motion-real: $(STAMP)
	test -d $(DATA_DIR)/synthetic_talking_heads || \
	  $(BIN)/python -m data_prep.build synthetic_talking_heads --data_dir $(DATA_DIR)
	$(BIN)/python -m data_prep.real_clips --data_dir $(DATA_DIR)
	$(BIN)/python -m stylehead_jax.train $(MG_REAL)
	$(BIN)/python eval/calibrate_pose.py $(MG_REAL) --iterations 8 --draws 2 --mouth --write \
	  --json $(REAL_WORKDIR)/calibration.json
	$(BIN)/python eval/real_mouth.py $(MG_REAL) --json $(REAL_WORKDIR)/real_mouth.json \
	  --strips $(REAL_WORKDIR)/strips

MG_SHIPPED := --config configs/motion_generator.py:real,shipped \
  --config.data.data_dir=$(DATA_DIR) --workdir $(PRETRAINED_WORKDIR)/motion_generator
pretrained: $(STAMP)
	test -d $(DATA_DIR)/synthetic_talking_heads || \
	  $(BIN)/python -m data_prep.build synthetic_talking_heads --data_dir $(DATA_DIR)
	$(BIN)/python -m data_prep.real_clips --data_dir $(DATA_DIR)
	t0=$$(date +%s) && \
	$(BIN)/python -m stylehead_jax.train $(MG_SHIPPED) && t1=$$(date +%s) && \
	$(BIN)/python eval/calibrate_pose.py $(MG_SHIPPED) --iterations 8 --draws 2 --mouth \
	  --write --json $(PRETRAINED_WORKDIR)/motion_generator/calibration.json && \
	t2=$$(date +%s) && \
	$(BIN)/python eval/real_mouth.py $(MG_SHIPPED) \
	  --json $(PRETRAINED_WORKDIR)/motion_generator/real_mouth.json && t3=$$(date +%s) && \
	$(BIN)/python eval/export_pretrained.py \
	  --motion_generator $(PRETRAINED_WORKDIR)/motion_generator --command "make pretrained" \
	  --seconds train=$$((t1 - t0)) calibrate=$$((t2 - t1)) measure=$$((t3 - t2))

MP_REAL := --config configs/mouth_painter.py --config.data.data_dir=$(DATA_DIR) \
  --workdir $(MOUTH_PAINTER_WORKDIR)
mouth-painter: $(STAMP)
	$(BIN)/python -m data_prep.real_clips --data_dir $(DATA_DIR)
	$(BIN)/python -m stylehead_jax.train $(MP_REAL)
	$(BIN)/python -m stylehead_jax.evaluate $(MP_REAL) --json $(MOUTH_PAINTER_WORKDIR)/eval.json \
	  --images $(MOUTH_PAINTER_WORKDIR)/images

test: $(STAMP)
	$(PYTEST) -m "not slow" $(PYTEST_ARGS) tests

test-all: $(STAMP)
	$(PYTEST) $(PYTEST_ARGS) tests

clean:
	rm -rf $(VENV) .data runs .pytest_cache
