# cifar-adv: everything runs from the virtual environment in $(VENV), created on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
ARGS ?=
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: install fit test docs export clean-nbs readme check

install: $(VENV)/.installed

# torch is pinned first: pip takes this exact build from the local wheel store here (an unpinned torch pulls several GB)
$(VENV)/.installed: settings.ini setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

fit: install             ## train: make fit ARGS="--epochs 60 --data PATH"
	$(BIN)/cifar-adv fit $(ARGS)

test: install            ## notebooks (nbdev_test), the docs site, then pytest (which checks the site in headless Chromium)
	$(BIN)/nbdev_test --n_workers 1
	$(PY) tools/docs.py --execute
	CIFAR_ADV_DOCS=_docs $(PY) -m pytest -q -rs tests

docs: install            ## the docs site from the notebooks into _docs/ (offline, no Quarto), and README.md from index.ipynb
	$(PY) tools/docs.py --execute
	$(PY) tools/readme.py

export: install          ## notebooks -> cifar_adv/, clean notebooks, README.md
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean
	$(PY) tools/readme.py

readme: install
	$(PY) tools/readme.py

check: install           ## fail when cifar_adv/, the notebooks or README.md differ from what the notebooks generate
	$(BIN)/nbdev_clean
	$(BIN)/nbdev_export
	@git diff --exit-code --stat -- cifar_adv nbs || (echo "cifar_adv/ or nbs/ out of sync: run 'make export' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- cifar_adv nbs)" || (git status --porcelain -- cifar_adv nbs; echo "untracked generated files: run 'make export' and commit" >&2; exit 1)
	$(PY) tools/readme.py --check
