# isolated-studio: `make synth` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
PIPENV := $(PYTHON) -m pipenv
CATEGORIES := packages dev-packages lab

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CHECKOV_SKIP_PACKAGE_UPDATE_CHECK := true
export CKV_SKIP_PACKAGE_UPDATE_CHECK := true

# The provider mirror (STUDIO_PROVIDER_MIRROR, terraform.provider_mirror or a usual place
# such as /opt/tf-plugins) is decided in Python, isolated_studio.base.terraform, so that
# make, pipenv run, python main.py and the cdktf CLI all use the same one.

STAMP := .venv/.synced-$(shell cat Pipfile.lock 2>/dev/null | cksum | cut -d' ' -f1)
CLI_STAMP := node_modules/.installed-$(shell cat package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: help setup cli studio-env awscli-env test-environments synth diagram schema test test-fast lint validate checkov lint-iam bench mutation data clean plan deploy destroy drift audit emulator

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

# Installs write their output to build/install-<what>.log and print one line: a newcomer's
# first `make synth` showed pipenv's virtualenv report on stderr. A failed install shows its
# log's last lines on stderr and stops.
INSTALL_LOG = build/install-$(1).log
define quietly
@mkdir -p build && echo "$(2) (output: $(call INSTALL_LOG,$(1)))" && \
  { $(3); } > $(call INSTALL_LOG,$(1)) 2>&1 || \
  { tail -n 40 $(call INSTALL_LOG,$(1)) >&2; echo "make: $(2) failed; the whole output is in $(call INSTALL_LOG,$(1))" >&2; exit 1; }
endef

$(STAMP): Pipfile Pipfile.lock
	$(call quietly,packages,Installing pipenv $(PIPENV_VERSION) and the locked packages into .venv,\
	  { $(PIPENV) --version || $(PYTHON) -m pip install "pipenv==$(PIPENV_VERSION)"; } && \
	  $(PIPENV) sync --categories "$(CATEGORIES)")
	@rm -f .venv/.synced-* && touch $@

# The project itself, editable, for the `isolated-studio` command (pyproject.toml): offline and
# with nothing but .venv's own setuptools (the lock's), so it never reaches a registry. Again
# after every sync, and when pyproject.toml changes.
ISOLATED_STUDIO := .venv/bin/isolated-studio
PROJECT_STAMP := .venv/.installed-$(shell cat pyproject.toml 2>/dev/null | cksum | cut -d' ' -f1)
$(PROJECT_STAMP): pyproject.toml $(STAMP)
	$(call quietly,project,Installing this checkout (editable) as the isolated-studio command into .venv,\
	  .venv/bin/python -m pip install --disable-pip-version-check --no-deps --no-build-isolation --no-index -e .)
	@rm -f .venv/.installed-* && touch $@

setup: $(STAMP) $(PROJECT_STAMP) ## install pipenv, the locked packages and the isolated-studio command into .venv

# The cdktf CLI, pinned in package-lock.json; install scripts are not needed for synth/deploy.
$(CLI_STAMP): package.json package-lock.json
	$(call quietly,cli,Installing the cdktf CLI pinned in package-lock.json into node_modules,\
	  npm ci --ignore-scripts --no-audit --no-fund)
	@rm -f node_modules/.installed-* && touch $@

cli: $(CLI_STAMP) ## install the pinned cdktf CLI into node_modules (use it as: npx cdktf ...)

# The lab as Studio runs it: its own kernel (pm_lab.kernel), made from the Python of the
# SageMaker Distribution image Studio runs (4.4.1: Python 3.12, tests/data/sagemaker-distribution/)
# with exactly notebooks/requirements.txt, apart from the dev environment's Python 3.11 and newer
# libraries. The machines carry a Python 3.12 beside 3.11 (pyenv's, in the machine image; no
# registry here ships a portable CPython that installs without a download of its own):
# STUDIO_PYTHON names another one.
STUDIO_PYTHON_VERSION := 3.12
PYENV_VERSIONS := $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions
STUDIO_PYTHON ?= $(firstword $(lastword $(sort $(wildcard $(PYENV_VERSIONS)/$(STUDIO_PYTHON_VERSION).*/bin/python$(STUDIO_PYTHON_VERSION)))) \
	$(wildcard /usr/bin/python$(STUDIO_PYTHON_VERSION) /usr/local/bin/python$(STUDIO_PYTHON_VERSION)))
STUDIO_VENV := .venv-studio
STUDIO_REQUIREMENTS := notebooks/requirements.txt tests/requirements-studio.txt
STUDIO_STAMP := $(STUDIO_VENV)/.synced-$(shell cat $(STUDIO_REQUIREMENTS) 2>/dev/null | cksum | cut -d' ' -f1)-py$(STUDIO_PYTHON_VERSION)
$(STUDIO_STAMP): $(STUDIO_REQUIREMENTS)
	@test -n "$(STUDIO_PYTHON)" || { echo "make studio-env needs Python $(STUDIO_PYTHON_VERSION) (the Studio image's): set STUDIO_PYTHON=/path/to/python$(STUDIO_PYTHON_VERSION)" >&2; exit 1; }
	$(call quietly,studio-env,Installing the lab's Studio kernel (Python $(STUDIO_PYTHON_VERSION)) into $(STUDIO_VENV),\
	  rm -rf $(STUDIO_VENV) && $(STUDIO_PYTHON) -m venv $(STUDIO_VENV) && \
	  $(STUDIO_VENV)/bin/pip install --disable-pip-version-check $(foreach r,$(STUDIO_REQUIREMENTS),-r $(r)))
	@touch $@

studio-env: $(STUDIO_STAMP) ## the lab's Studio kernel in .venv-studio: the image's Python 3.12 + notebooks/requirements.txt

# The AWS CLI for the JupyterLab start-script tests (run against moto), apart from .venv.
AWSCLI_VENV := .venv-awscli
AWSCLI_STAMP := $(AWSCLI_VENV)/.synced-$(shell cat tests/requirements-awscli.txt 2>/dev/null | cksum | cut -d' ' -f1)
$(AWSCLI_STAMP): tests/requirements-awscli.txt
	$(call quietly,awscli-env,Installing the AWS CLI of the start-script tests into $(AWSCLI_VENV),\
	  rm -rf $(AWSCLI_VENV) && $(PYTHON) -m venv $(AWSCLI_VENV) && \
	  $(AWSCLI_VENV)/bin/pip install --disable-pip-version-check -r tests/requirements-awscli.txt)
	@touch $@

awscli-env: $(AWSCLI_STAMP) ## the AWS CLI the start-script tests use, in .venv-awscli (tests/requirements-awscli.txt)

synth: setup ## synthesize every stack with the default configuration into cdktf.out/
	$(PIPENV) run python main.py

# The picture is of config/dev.toml in us-west-2 (what the tests synthesize), whatever the shell's environment.
diagram: setup ## rewrite the architecture diagram in docs/architecture.md and README from the synthesized stacks
	mkdir -p build/diagram && env -u STUDIO_CONFIG -u AWS_DEFAULT_REGION STUDIO_ENV=dev AWS_REGION=us-west-2 CDKTF_OUTDIR=build/diagram/cdktf.out \
	  $(PIPENV) run python main.py > /dev/null
	$(PIPENV) run python -m devtools.architecture build/diagram/cdktf.out

schema: setup ## write config/schema.json and docs/configuration.md's table from the declarations
	$(PIPENV) run python -m devtools.config_docs

# Five workers on two cores, one test module at a time each (groups in tests/conftest.py): the
# longest modules start first, the emulator modules (mostly waiting on Terraform and the
# provider's polling) beside the CPU-heavy day-2 matrix and Studio environment run, and the
# other modules fill the gaps. With four, all four waited on the provider at once for minutes
# of a run (vmstat: the cores up to 90% idle). TEST_WORKERS=0 runs in one process.
# TEST_SEED=<n> runs the tests in the random order of that seed (pytest-randomly, off by
# default in pytest.ini); .ci/run always does, with a new seed it prints.
# pytest runs from the virtualenv directly: `pipenv run` costs a second or two per call and
# forces PYTHONDONTWRITEBYTECODE=1, which this machine's environment sets as well; without
# bytecode every test process and every CLI it starts (workflow, main.py, ~100 in make test)
# compiles the project again and pytest rewrites every test module again. The bytecode goes
# to __pycache__/ (git-ignored).
PYTEST = PYTHONDONTWRITEBYTECODE= .venv/bin/python -m pytest
TEST_WORKERS ?= 5
TEST_SEED ?=
XDIST_MODE = --dist loadgroup --no-loadscope-reorder
XDIST = -n $(TEST_WORKERS) $(XDIST_MODE)
# The four environments the suite needs are independent (their own directories and logs, and
# pip's and npm's caches are safe to share): installed side by side, a fresh 2-core machine has
# them in 1m49s instead of 3m20s one after another.
test-environments: setup cli studio-env awscli-env
	@:
test: ## run the whole test suite (TEST_WORKERS=0: in one process; TEST_SEED=n: random order)
	@$(MAKE) --no-print-directory -j 4 test-environments
	$(PYTEST) $(XDIST) $(if $(TEST_SEED),-p randomly --randomly-seed=$(TEST_SEED)) $(PYTEST_ARGS)

# The edit-test loop: tests/unit/, the tests that run in the test process (matchers on the
# session's synthesis, configuration, policy rendering, the workflow, review, cleanup and guard
# logic with stand-ins). A test's tier is its folder (docs/testing.md): what starts Terraform,
# moto, MLflow, the notebook, checkov, the full provider import or the Studio environment's SDK
# (the markers emulator, lab_e2e, terraform, slow) is in tests/integration/ and tests/e2e/, left
# to `make test`: those are seconds each, and on 2 cores they alone took minutes. No marker
# selects here: tests/unit/house/test_test_tiers.py fails on a slow test under tests/unit/.
# PYTEST_ARGS that names test paths (PYTEST_ARGS=tests/unit/config/test_config.py) runs those instead.
FAST_TIER := tests/unit
# Its tests keep the cores busy: a worker per core (more would each import the bindings again).
FAST_WORKERS ?= 2
# The locked packages only: no test runs .venv's isolated-studio (tests/integration/app/test_cli_install.py installs
# it into a virtualenv of its own), and checkouts sharing one .venv must not re-point its install.
test-fast: $(STAMP) lint ## the edit-test loop: the house's checks, then the in-process tests (no Terraform, emulator, MLflow or heavy tool)
	$(PYTEST) -n $(FAST_WORKERS) $(XDIST_MODE) $(if $(filter tests/%,$(PYTEST_ARGS)),,$(FAST_TIER)) $(PYTEST_ARGS)

# The house's own checks, configured in pyproject.toml: ruff's lint rules, the import contracts
# (layers base < config < modules < stacks < checks < ops, no cycles) and mypy over the product
# code. mypy keeps its cache in .mypy_cache/: about a second warm, a minute on a fresh clone
# (the cdktf provider's bindings). tests/unit/house/test_house_checks.py runs ruff and the contracts in
# the fast tier as well, and shows the contracts catch a planted import; `make test` runs mypy from a
# cold cache too (tests/integration/house/test_house_type_checks.py).
lint: $(STAMP) ## ruff check and ruff format --check, lint-imports (the layer contracts) and mypy over the product code
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

validate: synth ## terraform init -backend=false + validate every synthesized stack
	$(ISOLATED_STUDIO) validate cdktf.out

# plan/deploy/destroy: STACKS="network workload" limits a run, ARGS passes more options
# (ARGS=--yes, ARGS=--include-state, ARGS=--no-synth ...); STUDIO_ENV picks the environment.
WORKFLOW = $(ISOLATED_STUDIO)
STACK_ARGS = $(if $(STACKS),--stacks $(STACKS))

plan: setup ## synthesize, save a plan of every stack and a review report in plans/<time>-plan/
	$(WORKFLOW) plan $(STACK_ARGS) $(ARGS)

deploy: setup ## check account/region, bootstrap state if needed, then plan, show, confirm, apply per stack
	$(WORKFLOW) deploy $(STACK_ARGS) $(ARGS)

destroy: setup ## confirm, clean up Studio apps/spaces, destroy workload then network (ARGS=--include-state)
	$(WORKFLOW) destroy $(STACK_ARGS) $(ARGS)

drift: setup ## plan every applied stack and audit the live boundary: exit 0 no drift, 2 drift found (report in plans/<time>-drift/), 1 error
	$(WORKFLOW) drift $(STACK_ARGS) $(ARGS)

audit: setup ## read the deployed VPC, domain and buckets with boto3, check the isolation rules: exit 0 clean, 2 breach (plans/<time>-audit/audit.md), 1 error
	$(WORKFLOW) audit $(ARGS)

EMULATOR_PORT ?= 4566
emulator: setup ## run moto (local AWS) for STUDIO_ENV=emulator in the foreground; Ctrl-C stops it
	$(ISOLATED_STUDIO) emulator --port $(EMULATOR_PORT)

checkov: synth ## checkov (pinned, offline) + CKV_STUDIO checks over every stack; exceptions in policy/suppressions.toml
	$(ISOLATED_STUDIO) checkov cdktf.out

lint-iam: synth ## lint every IAM permission policy of every stack with parliament
	$(ISOLATED_STUDIO) lint-iam cdktf.out

# Long (tens of minutes) and CPU-heavy: not part of `make test`. TARGETS="guard cleanup" limits
# it to some targets of tests/mutation.toml, MUTATION_JOBS runs mutants side by side.
MUTATION_JOBS ?= 1
mutation: setup ## mutmut over the safety features against the fast tests; score + survivors in build/mutation/
	$(PIPENV) run python -m devtools.mutation --max-children $(MUTATION_JOBS) $(TARGETS)

data: setup ## write a generated AI4I 2020 data set (same columns and rules) to data/ai4i2020.csv
	PYTHONPATH=notebooks $(PIPENV) run python -m pm_lab.synthetic --rows 10000 --seed 42 --out data/ai4i2020.csv

bench: setup ## time synthesis against the bare import of cdktf and the provider bindings
	$(PIPENV) run python -m devtools.bench

clean: ## remove generated files (never the bootstrap state in terraform-state/)
	rm -rf cdktf.out .terraform-cli .pytest_cache
