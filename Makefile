# The two commands: `make lab` opens the workbook, `make test` runs the whole suite.
# Both create .venv and install the pinned dependencies first (skipped when already done).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Jupyter refuses to run as root without this flag (CI runs as root).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_WORKERS ?= 2
# `make sweep` with no NB and no P: lesson 00 over four matrix sizes.
DEMO_GRID := -p n 256,512,1024,2048

.PHONY: lab test install lint unit nbval notebooks bench doctor clean release grade bench-timer run-all sweep params bench-sweep

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "labkit needs Python 3.10 or newer; found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## lab: open the workbook in JupyterLab on 127.0.0.1 with a token
lab: $(STAMP)
	$(BIN)/jupyter lab --config=etc/jupyter_server_config.py $(ROOT_FLAG)

## test: the whole suite: lint, unit tests, strict nbval, papermill runs, notebook checks
test: $(STAMP) lint
	LABKIT_HEADLESS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile tests
	LABKIT_HEADLESS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider notebooks

lint: $(STAMP)
	$(BIN)/ruff check labkit tests benchmarks notebooks

## notebooks: re-execute lessons in place (all, or NB="01 02") so stored outputs are current
notebooks: $(STAMP)
	$(BIN)/python -m labkit execute $(NB)

## bench: labkit.fit against a plain PyTorch loop (prints `ratio: X.XX`)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_fit.py

## release: student versions of the lessons (nbgrader format) in build/release (NB="01 02" for some, OUT=folder)
release: $(STAMP)
	$(BIN)/python -m labkit assign $(NB) --out $(or $(OUT),build/release)

## grade: grade submissions (SUBMISSIONS=folder of student folders) into build/grades (OUT=folder)
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/submissions [OUT=build/grades]" >&2; exit 2; }
	$(BIN)/python -m labkit grade $(SUBMISSIONS) --out $(or $(OUT),build/grades)

## bench-timer: labkit.bench.measure against torch.utils.benchmark.Timer on one matmul (prints `ratio: X.XX`)
bench-timer: $(STAMP)
	$(BIN)/python benchmarks/bench_timer.py

## run-all: run every lesson (or NB="00 02") headless with papermill into build/workbook (OUT=...):
## executed notebooks, HTML, result JSONs and summary.md; the sources are never touched
run-all: $(STAMP)
	$(BIN)/python -m labkit run $(NB) --out $(or $(OUT),build/workbook)

## sweep: one lesson over a grid, runs in parallel, results collected into build/sweep/<lesson> (OUT=...)
## e.g. make sweep NB=02 P="-p lr 0.01,0.1,1.0 -p batch_size 8,64"; with neither, a demo sweep of lesson 00
sweep: $(STAMP)
	$(if $(and $(NB),$(if $(P),,x)),$(error give the grid too, e.g. make sweep NB=$(NB) P="-p NAME 1,2,3"),)
	$(BIN)/python -m labkit sweep $(or $(NB),00) $(or $(P),$(DEMO_GRID)) $(if $(OUT),--out $(OUT),)

## params: list a lesson's parameters with types, defaults and help (NB=02)
params: $(STAMP)
	$(BIN)/python -m labkit params $(or $(NB),00)

## bench-sweep: the same 4-run sweep sequentially and in parallel, alternating (prints `ratio: X.XX`)
bench-sweep: $(STAMP)
	$(BIN)/python benchmarks/bench_sweep.py

doctor: $(STAMP)
	$(BIN)/python -m labkit doctor

clean:
	rm -rf build .pytest_cache .ruff_cache
