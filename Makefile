# cifar-adv: everything runs from the virtual environment in $(VENV), created on first use. `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
ARGS ?=
TORCH_INDEX ?=
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: help install dev fit test test-fast verify-results lint docs export clean-nbs readme check

install: $(VENV)/.installed  ## the virtual environment for training: torch, then the package, editable (no dev tools, no Ray)

dev: $(VENV)/.installed-dev  ## install, plus the dev tools (nbdev, pytest, ruff, Selenium) and the tune extra (Ray Tune, Optuna)

# torch is pinned first: pip takes this exact build from the local wheel store here (an unpinned torch pulls several GB).
# TORCH_INDEX=URL takes torch from another index, e.g. PyTorch's CPU-only wheels (much smaller than the CUDA build).
$(VENV)/.installed: settings.ini setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[dev,tune]"
	touch $@

fit: install             ## train: make fit ARGS="--epochs 60 --data PATH"
	$(BIN)/cifar-adv fit $(ARGS)

test: dev                ## the notebooks, executed once into the docs site, then pytest (the site in headless Chromium if installed); its time: bench/results/ci.json
	$(PY) tools/docs.py --execute
	CIFAR_ADV_DOCS=_docs $(PY) -m pytest -q -rs --durations=20 tests

test-fast: dev           ## pytest without the tests marked slow (kept under 3 min on 2 cores): trains nothing larger than the 300-image sample
	$(PY) -m pytest -q -rs -m "not slow" tests

verify-results: dev      ## re-score every committed run in results/ on the 10,000 test images (plain and flip TTA): run it whenever results/ changes
	$(PY) -m pytest -q -rs tests/test_results.py tests/test_repo.py --all-results

lint: dev                ## ruff (rules in ruff.toml) over the package, tests, benchmarks and tools
	@test -x $(BIN)/ruff || { echo "ruff is not installed in $(VENV): add it to dev_requirements in settings.ini (then make dev)" >&2; exit 1; }
	@pin=$$(grep -o 'nbdev==[0-9.]*' settings.ini | cut -d= -f3); grep -q "rev: $$pin$$" .pre-commit-config.yaml \
	  || { echo ".pre-commit-config.yaml: nbdev's rev differs from settings.ini's pin nbdev==$$pin" >&2; exit 1; }
	$(BIN)/ruff check cifar_adv tests bench tools

docs: dev                ## the docs site from the notebooks into _docs/ (offline, no Quarto), and README.md from index.ipynb
	$(PY) tools/docs.py --execute
	$(PY) tools/readme.py

export: dev              ## notebooks -> cifar_adv/, clean notebooks, README.md
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean
	$(PY) tools/readme.py

readme: dev              ## README.md from nbs/index.ipynb
	$(PY) tools/readme.py

check: dev               ## fail when cifar_adv/, the notebooks or README.md differ from what the notebooks generate
	$(BIN)/nbdev_clean
	$(BIN)/nbdev_export
	@git diff --exit-code --stat -- cifar_adv nbs || (echo "cifar_adv/ or nbs/ out of sync: run 'make export' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- cifar_adv nbs)" || (git status --porcelain -- cifar_adv nbs; echo "untracked generated files: run 'make export' and commit" >&2; exit 1)
	$(PY) tools/readme.py --check

help:                    ## this list of targets
	@awk -F ':[^#]*## ' '/^[a-z][a-z-]*:[^#]*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
