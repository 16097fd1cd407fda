"""Session-wide fixtures: one synthesis of the app, shared by every infrastructure test.

The app is synthesized once per test run (plus one variant with the non-default options),
by the first pytest-xdist worker that needs it, and tests read the JSON it wrote. The
provider bindings load through isolated_studio.bindings, as in main.py: only the modules the
stacks use, in Python and in the jsii runtime.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# One OpenMP thread per test process: the workers already fill the cores, and xgboost's
# spinning threads in two workers starve each other (the lab model trains in ~1 s alone, ~17 s
# beside another worker). Set before anything imports xgboost; subprocesses inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# A suite started with SIGINT ignored (`nohup`, `cmd &` in a script) hands that to every child,
# and a shell cannot trap a signal ignored on entry: the stand-in Terraforms would never hear the
# interrupt the workflow sends (real Terraform, a Go program, handles it even then) and their
# tests would wait forever. With a handler here, children start with SIGINT at its default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from tiers import LAB_E2E_FIXTURES, TOOL_FIXTURES  # the lab end to end (lab_e2e), a heavy tool (slow)

from isolated_studio.config import CONFIG_DIR, StudioConfig, load_config


def _is_xdist_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def pytest_configure(config: pytest.Config) -> None:
    from no_skip_in_ci import NoSkipInCI
    from support import IN_CI

    if not hasattr(config, "workerinput"):  # workers' reports reach the controller
        config.pluginmanager.register(ModuleSeconds(), "module-seconds")
        if IN_CI:
            config.pluginmanager.register(NoSkipInCI(), "no-skip-in-ci")
    # Before test modules import the provider classes they match on. An xdist controller
    # imports no test module: loading the assemblies there (~2.6 s of jsii) only delayed the
    # workers' start.
    if not _is_xdist_controller(config):
        from isolated_studio import bindings

        bindings.install()


def pytest_collection_finish(session: pytest.Session) -> None:
    # Everything imported so far (jsii, pandas, boto3, the test modules) lives to the end: out
    # of the collector's way, so that the collections during the tests and pytest's final
    # gc.collect() x5 (~1 s per process) walk only what the tests create.
    gc.collect()
    gc.freeze()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="only tests that need no synthesis, Terraform or server (what `make mutation` runs)",
    )


# What makes a test slow: the session synthesis (jsii, ~10 s), Terraform, moto or MLflow.
SLOW_FIXTURES = {
    "synth",
    "synth_variant",
    "synth_other_release",
    "bad_stack",
    "mlflow_server",
    "run_notebook",
    "emulator",
}
SLOW_MARKERS = ("terraform", "emulator")


def is_fast(item: pytest.Item) -> bool:
    return not (
        SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or any(item.get_closest_marker(m) for m in SLOW_MARKERS)
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("fast"):
        slow = [item for item in items if not is_fast(item)]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [item for item in items if is_fast(item)]
    for item in items:
        if LAB_E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab_e2e)
        if TOOL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # `make test` runs pytest-xdist workers with --dist loadgroup, one group per test module:
    # a module's fixtures (its own moto server, a checkov scan, terraform init) run once, on
    # one worker, and modules run side by side; the first worker to need the app synthesizes
    # it for all (shared_synthesis). The longest modules are handed out first (longest
    # processing time first; --no-loadscope-reorder keeps this order): a long module handed
    # out last keeps one worker busy while the others idle, and the emulator modules, mostly
    # waiting on the provider's polling, start beside the CPU-heavy day-2 matrix and Studio
    # environment run, whose work fills those waits. A module's seconds are its last run's
    # (pytest's cache), else tests/data/module-seconds.json's; the rest go by rank.
    seconds = ModuleSeconds.read(config)
    items.sort(key=lambda item: (-seconds.get(_module(item.nodeid), 0.0), _cost_rank(item)))  # stable
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_module(item.nodeid)))


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


class ModuleSeconds:
    """Each test module's duration in the last run that ran it, kept in pytest's cache.

    Recorded where every report arrives (the xdist controller, or the only process) and read
    where tests are ordered (each worker). A fresh clone has none: the committed
    tests/data/module-seconds.json stands in for it.
    """

    KEY = "isolated-studio/module-seconds"

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    COMMITTED = Path(__file__).parent / "data" / "module-seconds.json"

    @staticmethod
    def read(config: pytest.Config) -> dict[str, float]:
        committed = {k: v for k, v in json.loads(ModuleSeconds.COMMITTED.read_text()).items() if k != "//"}
        return {**committed, **ModuleSeconds.cached(config)}

    @staticmethod
    def cached(config: pytest.Config) -> dict[str, float]:
        cache = getattr(config, "cache", None)  # None with -p no:cacheprovider
        value = cache.get(ModuleSeconds.KEY, {}) if cache is not None else {}
        return value if isinstance(value, dict) else {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        module = _module(report.nodeid)
        self.seconds[module] = self.seconds.get(module, 0.0) + report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        cache = getattr(session.config, "cache", None)
        if cache is not None and self.seconds:
            # Merged: a narrower run (test-fast, one module) keeps what it did not run.
            cache.set(self.KEY, {**self.cached(session.config), **{m: round(s, 2) for m, s in self.seconds.items()}})


def _cost_rank(item: pytest.Item) -> int:
    if item.get_closest_marker("emulator"):
        return 0
    if item.get_closest_marker("lab_e2e") or item.get_closest_marker("terraform"):
        return 1
    return 2


# Tests see the default configuration as a user would, independent of the shell they run in.
TEST_ENV = {"AWS_REGION": "us-west-2"}


@dataclass
class Synth:
    config: StudioConfig
    outdir: Path
    stacks: dict[str, dict]  # stack name -> parsed cdk.tf.json
    texts: dict[str, str]  # stack name -> cdk.tf.json text, for cdktf's Testing matchers
    dirs: dict[str, Path]

    def resources(self, stack: str, rtype: str) -> dict[str, dict]:
        return self.stacks[stack].get("resource", {}).get(rtype, {})

    def policy(self, stack: str, value: str) -> dict:
        """The IAM policy an attribute names (a policy-document data source or literal JSON)."""
        from isolated_studio.checks.policy_documents import resolve_policy

        return resolve_policy(self.stacks[stack], value)

    def all_resources(self, stack: str):
        for rtype, items in self.stacks[stack].get("resource", {}).items():
            for name, body in items.items():
                yield rtype, name, body


def synthesize(config: StudioConfig, outdir: Path) -> Synth:
    from main import build_app

    build_app(config, outdir).synth()
    return read_synthesis(config, outdir)


def read_synthesis(config: StudioConfig, outdir: Path) -> Synth:
    from isolated_studio.base.paths import stack_dirs

    dirs = stack_dirs(outdir)
    texts = {name: (path / "cdk.tf.json").read_text() for name, path in dirs.items()}
    return Synth(config, outdir, {n: json.loads(t) for n, t in texts.items()}, texts, dirs)


def shared_synthesis(
    name: str, config: StudioConfig, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Synth:
    """One synthesis of ``config`` for every worker of the run, by whichever asks first.

    pytest-xdist gives each worker a basetemp in one directory per run: the first worker to
    ask synthesizes there while holding a lock, the others wait for it (a second or two
    instead of a synthesis of their own) and read what it wrote. Without xdist, the process
    synthesizes on its own.
    """
    if not hasattr(pytestconfig, "workerinput"):
        return synthesize(config, tmp_path_factory.mktemp(f"synth-{name}"))
    root = tmp_path_factory.getbasetemp().parent
    outdir, done = root / f"synth-{name}", root / f"synth-{name}.done"
    with (root / f"synth-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        if done.exists():
            return read_synthesis(config, outdir)
        shutil.rmtree(outdir, ignore_errors=True)  # what a worker that died mid-way left
        result = synthesize(config, outdir)
        done.touch()
        return result


def default_config() -> StudioConfig:
    return load_config(CONFIG_DIR / "dev.toml", env=TEST_ENV)


@pytest.fixture(scope="session")
def synth(pytestconfig, tmp_path_factory) -> Synth:
    return shared_synthesis("default", default_config(), pytestconfig, tmp_path_factory)


VARIANT_ACCOUNT = "123456789012"


def make_variant_config() -> StudioConfig:
    """The options a default synth does not exercise: S3 native locking, least privilege..."""
    base = default_config()
    return base.model_copy(
        update={
            # the providers then refuse any other account
            "project": base.project.model_copy(update={"account_id": VARIANT_ACCOUNT}),
            "state": base.state.model_copy(update={"locking": "both"}),
            "workload": base.workload.model_copy(
                update={
                    "iam_mode": "least-privilege",
                    "force_destroy_buckets": False,
                    "retain_home_efs": True,
                    "user_profiles": ("alice", "bob"),
                    "docker_trusted_accounts": ("123456789012",),
                    "attach_lifecycle_config": False,
                }
            ),
        }
    )


@pytest.fixture(scope="session")
def variant_config() -> StudioConfig:
    return make_variant_config()


@pytest.fixture(scope="session")
def dev_config() -> StudioConfig:
    """The configuration of the session's default synthesis (config/dev.toml)."""
    return default_config()


@pytest.fixture(scope="session")
def synth_variant(pytestconfig, tmp_path_factory, variant_config) -> Synth:
    return shared_synthesis("variant", variant_config, pytestconfig, tmp_path_factory)


#: The Studio image release of the synth_other_release fixture (tests/unit/modules/test_studio_image.py).
OTHER_STUDIO_RELEASE = "4.5.0"


@pytest.fixture(scope="session")
def synth_other_release(pytestconfig, tmp_path_factory) -> Synth:
    """The default synthesis with only workload.studio_image_version changed: a team's upgrade."""
    base = default_config()
    config = base.model_copy(
        update={"workload": base.workload.model_copy(update={"studio_image_version": OTHER_STUDIO_RELEASE})}
    )
    return shared_synthesis("other-release", config, pytestconfig, tmp_path_factory)


@pytest.fixture(scope="session")
def provider_mirror() -> str | None:
    # The project's one decision (as make and main.py make it); None: the registry.
    return default_config().provider_mirror
