# The two commands: `make lab` opens the workbook, `make test` runs the whole suite.
# Both create .venv and install the pinned dependencies first (skipped when already done).
# The other targets carry the names of the `labkit` command line (`make help` lists them all).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LABKIT := $(BIN)/python -m labkit
# Jupyter refuses to run as root without this flag (CI runs as root).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_WORKERS ?= 2
# `make sweep` with no NB and no P: lesson 00 over four matrix sizes.
DEMO_GRID := -p n 256,512,1024,2048
# `make lab` is the learner's lab; `make lab ROLE=instructor` adds nbgrader's instructor tools.
ROLE ?= learner

.DEFAULT_GOAL := help
.PHONY: help install lab test lint doctor execute assign check grade export run gpu-check sweep params bench bench-timer bench-sweep bench-grade bench-gpt clean \
	notebooks release run-all

## help: list the targets
help:
	@echo "make targets (the two commands first):"
	@sed -n 's/^## \([a-z-]*\): \(.*\)/\1|\2/p' $(MAKEFILE_LIST) | awk -F'|' '{printf "  %-13s %s\n", $$1, $$2}'
	@echo "  (old names, kept for a while: notebooks = execute, release = assign, run-all = run)"

## install: create .venv with the pinned dependencies and labkit (done by every target that needs it)
install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "labkit needs Python 3.10 or newer; found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## lab: open the workbook in JupyterLab on 127.0.0.1 with a token (ROLE=instructor adds nbgrader's tools)
lab: $(STAMP)
	LABKIT_ROLE=$(ROLE) $(BIN)/jupyter lab --config=etc/jupyter_server_config.py $(ROOT_FLAG)

## test: the whole suite (lint, unit tests, strict nbval, papermill runs, browser); ends with what was skipped
test: $(STAMP) lint
	LABKIT_HEADLESS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
		--nbval --nbval-current-env --nbval-sanitize-with tests/notebooks/nbval_sanitize.cfg tests notebooks

## lint: ruff on labkit, tests, benchmarks and the notebooks
lint: $(STAMP)
	$(BIN)/ruff check labkit tests benchmarks notebooks

## doctor: the environment report to paste into a question
doctor: $(STAMP)
	$(LABKIT) doctor

## execute: re-execute lessons in place (all, or NB="01 02") so their stored outputs are current
execute: $(STAMP)
	$(LABKIT) execute $(NB)

## assign: student versions of the lessons (nbgrader format) in build/release (NB="01 02", OUT=folder)
assign: $(STAMP)
	$(LABKIT) assign $(NB) --out $(or $(OUT),build/release)

## check: for students: a notebook's visible tests, run as grading runs them (NB=path/to/notebook.ipynb)
check: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make check NB=path/to/your_notebook.ipynb" >&2; exit 2; }
	$(LABKIT) check $(NB)

## grade: grade submissions (SUBMISSIONS=an LMS zip or folder, or a folder of student folders) into build/grades (OUT=)
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/submissions [OUT=build/grades]" >&2; exit 2; }
	$(LABKIT) grade $(SUBMISSIONS) --out $(or $(OUT),build/grades)

## export: grades and feedback in an LMS's import formats (LMS=canvas or LMS=moodle; GRADES=build/grades)
export: $(STAMP)
	@test -n "$(LMS)" || { echo "usage: make export LMS=canvas|moodle [GRADES=build/grades] [COLUMN='Lab 02 (48213)']" >&2; exit 2; }
	$(LABKIT) export $(or $(GRADES),build/grades) --lms $(LMS) $(if $(COLUMN),--column "$(COLUMN)",)

## run: every lesson (or NB="00 02") headless with papermill into build/workbook (OUT=...)
run: $(STAMP)
	$(LABKIT) run $(NB) --out $(or $(OUT),build/workbook)

## gpu-check: every lesson with device=cuda (or mps) into build/gpu-check, kept as measured_*.json
gpu-check: $(STAMP)
	$(LABKIT) gpu-check $(NB) --out $(or $(OUT),build/gpu-check)

## sweep: one lesson over a grid in parallel into build/sweep/<lesson> (NB=02 P="-p lr 0.01,0.1")
sweep: $(STAMP)
	$(if $(and $(NB),$(if $(P),,x)),$(error give the grid too, e.g. make sweep NB=$(NB) P="-p NAME 1,2,3"),)
	$(LABKIT) sweep $(or $(NB),00) $(or $(P),$(DEMO_GRID)) $(if $(OUT),--out $(OUT),)

## params: a lesson's parameters with types, defaults and help (NB=02)
params: $(STAMP)
	$(LABKIT) params $(or $(NB),00)

## bench: labkit.fit against a plain PyTorch loop (prints `ratio: X.XX`)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_fit.py

## bench-timer: labkit.bench.measure against torch.utils.benchmark.Timer on one matmul (prints `ratio: X.XX`)
bench-timer: $(STAMP)
	$(BIN)/python benchmarks/bench_timer.py

## bench-sweep: the same 4-run sweep sequentially and in parallel, alternating (prints `ratio: X.XX`)
bench-sweep: $(STAMP)
	$(BIN)/python benchmarks/bench_sweep.py

## bench-grade: 16 submissions of lesson 02: sequential, --jobs 2, Dask; a submission's fixed cost by part (`ratio: X.XX`)
bench-grade: $(STAMP)
	$(BIN)/python benchmarks/bench_grade.py

## bench-gpt: lesson 10's GPT against TransformerEncoderLayer, attention against SDPA, the KV cache (`ratio: X.XX`)
bench-gpt: $(STAMP)
	$(BIN)/python benchmarks/bench_gpt.py

## clean: remove build/ and the tools' caches (keeps .venv)
clean:
	rm -rf build .pytest_cache .ruff_cache

# Old names, kept for a while.
notebooks: execute
release: assign
run-all: run
