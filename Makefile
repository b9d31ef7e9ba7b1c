# The project's commands. `make reproduce` and `make test` work on a fresh clone.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= $(shell nproc)
SNAKEMAKE := $(VENV)/bin/snakemake
# The workflow's jobs call the `bdnn` command: put the venv first on PATH.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup lint test test-fast reproduce reproduce-paper-lr preview study compare report bench lock ui

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[pipeline,test]'
	touch $@

setup: $(VENV)/.installed

# Style, architecture and workflow checks (part of `make test`, so CI keeps them): ruff lint
# (complexity <= 10, <= 50 statements a function) and format, the layers and the method core's
# forbidden imports (import-linter, pyproject.toml), repeated code (pylint, 6 lines), snakefmt,
# and Snakemake's own linter.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pylint --disable=all --enable=duplicate-code --min-similarity-lines=6 --score=n bdnn benchmarks
	$(VENV)/bin/snakefmt --check .
	$(SNAKEMAKE) --lint

test: lint
	$(PY) -m pytest

test-fast: lint
	$(PY) -m pytest -m "not slow"

reproduce: setup
	$(SNAKEMAKE) --cores $(CORES)
	test results/report.html -nt results/claims.md || $(SNAKEMAKE) --report results/report.html

reproduce-paper-lr: setup
	$(SNAKEMAKE) --cores $(CORES) --configfile config/paper-lr.yaml

# A 5-minute preview of the whole pipeline (config/preview.yaml: 3 seeds, 3 sample counts) into
# results/preview/ (figures, claims, MLflow store; `bdnn ui --config config/preview.yaml`).
preview: setup
	$(SNAKEMAKE) --cores $(CORES) --configfile config/preview.yaml

# The study (docs/method.md, "The study"): config/study.yaml merged over config/config.yaml; reuses
# the default runs of `make reproduce`, then rebuilds results/report.html with the study included.
STUDY_CONFIG := --configfile config/config.yaml config/study.yaml
study: setup
	$(SNAKEMAKE) study --cores $(CORES) $(STUDY_CONFIG)
	$(SNAKEMAKE) all study --report results/report.html $(STUDY_CONFIG)

# The comparison (docs/method.md, "The comparison"): config/compare.yaml merged over config/config.yaml;
# reuses the default sweep's Eq. 1 runs, then rebuilds results/report.html with the comparison included.
COMPARE_CONFIG := --configfile config/config.yaml config/compare.yaml
compare: setup
	$(SNAKEMAKE) compare --cores $(CORES) $(COMPARE_CONFIG)
	$(SNAKEMAKE) all compare --report results/report.html $(COMPARE_CONFIG)

report: setup
	$(SNAKEMAKE) --report results/report.html

# The MLflow UI on the project's store (make -C /path/to/bdnn-sp ui works from any folder).
ui: setup
	$(VENV)/bin/bdnn ui

bench: setup
	$(PY) -m benchmarks

lock: setup
	{ head -2 requirements.lock; $(PY) -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
