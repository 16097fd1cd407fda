"""The JupyterLab start script's failure paths, executed with bash, a fake `aws` and a temporary HOME.

The fake `aws` serves `s3 sync` from a local directory laid out as <bucket>/<prefix>/ and
fails every call when FAKE_AWS_FAIL is set (expired credentials, no endpoint...): the script
must still exit 0 so JupyterLab starts, and must never overwrite what the user changed.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from studio_startup import ACCOUNT, BUCKET, script

from modules.studio_domain import AWS_CLI_BOUNDS, SDK_CONFIG_PATH, SETTINGS_PATH, START_SCRIPT_KEY

BASH = shutil.which("bash") or "/bin/bash"

FAKE_AWS = textwrap.dedent("""\
    #!/bin/bash
    # Records every call; FAKE_AWS_FAIL=1 fails them all; `s3 cp --recursive s3://B/P/ DST`
    # copies $FAKE_S3/B/P/ to DST. Global options (--cli-read-timeout 30 ...) come first.
    echo "$*" >> "$FAKE_AWS_LOG"
    if [ -n "${FAKE_AWS_FAIL:-}" ]; then
      echo "An error occurred (ExpiredToken): the security token included in the request is expired" >&2
      exit 254
    fi
    while [ "${1#--cli-}" != "$1" ]; do shift 2; done
    if [ "$1 $2" = "s3 cp" ]; then
      shift 2
      args=()
      for arg in "$@"; do case "$arg" in --*) ;; *) args+=("$arg") ;; esac; done
      # drop the value of --region
      src=${args[1]#s3://}; dst=${args[2]}
      if [ -f "$FAKE_S3/$src" ]; then cp "$FAKE_S3/$src" "$dst"
      elif [ -d "$FAKE_S3/$src" ]; then mkdir -p "$dst" && cp -r "$FAKE_S3/$src/." "$dst"
      else echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key not found" >&2; exit 1
      fi
    fi
    exit 0
    """)


@pytest.fixture()
def studio(tmp_path):
    """A temporary HOME, a fake S3 holding the lab, and a runner for the script."""
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    lab = tmp_path / "s3" / BUCKET / "lab"
    lab.mkdir(parents=True)
    (lab / "private-mlflow.ipynb").write_text('{"cells": ["from S3"]}')
    (lab / "pm_lab").mkdir()
    (lab / "pm_lab" / "data.py").write_text("# from S3\n")
    path = tmp_path / "start.sh"

    def run(text: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        path.write_text(script() if text is None else text)
        env = {
            "HOME": str(home),
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_AWS_LOG": str(tmp_path / "aws.log"),
            "FAKE_S3": str(tmp_path / "s3"),
            **extra,
        }
        return subprocess.run([BASH, str(path)], env=env, capture_output=True, text=True, timeout=60)

    run.home = home  # type: ignore[attr-defined]
    run.calls = lambda: (tmp_path / "aws.log").read_text().splitlines()  # type: ignore[attr-defined]
    return run


def test_script_parses_with_bash_n(tmp_path):
    path = tmp_path / "start.sh"
    path.write_text(script())
    proc = subprocess.run([BASH, "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_broken_script_is_what_bash_n_catches(tmp_path):
    """The check above can fail: an unterminated if is a syntax error."""
    path = tmp_path / "start.sh"
    path.write_text(script().replace("\nfi\n", "\n"))
    assert subprocess.run([BASH, "-n", str(path)], capture_output=True).returncode != 0


def test_first_start_copies_the_lab_from_s3(studio):
    proc = studio()
    assert proc.returncode == 0, proc.stderr
    lab = studio.home / "lab"
    assert (lab / "private-mlflow.ipynb").read_text() == '{"cells": ["from S3"]}'
    assert (lab / "pm_lab" / "data.py").read_text() == "# from S3\n"
    bounds = AWS_CLI_BOUNDS.split(" ", 3)[3]
    assert (
        f"{bounds} s3 cp --recursive --only-show-errors --region us-west-2 s3://{BUCKET}/lab/ "
        f"{studio.home}/.isolated-studio/lab.new/"
    ) in studio.calls()


def test_a_file_the_user_edited_survives_the_next_start(studio):
    assert studio().returncode == 0
    notebook = studio.home / "lab" / "private-mlflow.ipynb"
    notebook.write_text('{"cells": ["my own work"]}')
    (studio.home / "lab" / "scratch.py").write_text("mine\n")

    proc = studio()

    assert proc.returncode == 0, proc.stderr
    assert notebook.read_text() == '{"cells": ["my own work"]}'
    assert (studio.home / "lab" / "scratch.py").read_text() == "mine\n"
    assert (studio.home / "lab" / "pm_lab" / "data.py").exists()  # what was missing comes back


def test_failing_aws_still_exits_0_and_says_what_failed(studio):
    proc = studio(FAKE_AWS_FAIL="1")

    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "isolated-studio: WARNING: could not set regional STS endpoints" in out
    assert "isolated-studio: WARNING: CodeArtifact login failed, pip install will not work" in out
    assert "isolated-studio: WARNING: could not copy the lab from S3" in out
    assert list((studio.home / "lab").iterdir()) == []  # nothing half-copied
    # The SDK defaults need no AWS call: they are written all the same.
    assert (studio.home / SDK_CONFIG_PATH).is_file()


def test_failing_aws_leaves_an_existing_lab_alone(studio):
    assert studio().returncode == 0
    before = {p.relative_to(studio.home): p.read_bytes() for p in (studio.home / "lab").rglob("*") if p.is_file()}
    assert studio(FAKE_AWS_FAIL="1").returncode == 0
    after = {p.relative_to(studio.home): p.read_bytes() for p in (studio.home / "lab").rglob("*") if p.is_file()}
    assert after == before


def _terraform_resolves(text: str, settings: dict) -> str:
    """The text with what Terraform substitutes: the account id, ids/ARNs of the key, subnets and
    group, and the lab settings local (base64 of JSON)."""
    text = text.replace("${local.lab_settings}", base64.b64encode(json.dumps(settings).encode()).decode())
    text = re.sub(r"\$\{data\.aws_caller_identity\.[a-z_]+\.account_id\}", ACCOUNT, text)
    text = re.sub(r"\$\{(?:data\.)?[a-z_]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+\}", "resolved-by-terraform", text)
    assert "${" not in text, "a reference Terraform would not resolve is left in the script"
    return text


def test_the_synthesized_bootstrap_runs_the_synthesized_start_script(synth, studio):
    """The lifecycle configuration as Terraform uploads it (base64encode of the bootstrap), fetching
    the start script as the deploy uploads it (an S3 object in the notebooks bucket)."""
    (config,) = synth.resources("workload", "aws_sagemaker_studio_lifecycle_config").values()
    match = re.fullmatch(r"\$\{base64encode\((.*)\)\}", config["studio_lifecycle_config_content"], re.S)
    assert match, config["studio_lifecycle_config_content"][:200]
    bootstrap = _terraform_resolves(json.loads(match.group(1)), {})  # the HCL string literal is JSON here
    (obj,) = [o for o in synth.resources("workload", "aws_s3_object").values() if o["key"] == START_SCRIPT_KEY]
    settings = {"region": "us-west-2", "account_id": ACCOUNT}
    script = _terraform_resolves(obj["content"], settings)
    bucket = re.search(r"s3://([^/]+)/lab/", script).group(1)
    assert f"s3://{bucket}/{START_SCRIPT_KEY}" in bootstrap
    s3 = Path(studio.home).parent / "s3" / bucket
    (s3 / START_SCRIPT_KEY).parent.mkdir(parents=True, exist_ok=True)
    (s3 / START_SCRIPT_KEY).write_text(script)
    (s3 / "lab").mkdir(parents=True, exist_ok=True)
    (s3 / "lab" / "private-mlflow.ipynb").write_text("{}")

    proc = studio(bootstrap)

    assert proc.returncode == 0, proc.stderr
    assert (studio.home / "lab" / "private-mlflow.ipynb").exists()
    assert (studio.home / SDK_CONFIG_PATH).is_file()
    assert json.loads((studio.home / SETTINGS_PATH).read_text()) == settings

    # S3 out of reach at the next start: the script fetched last time runs again.
    (studio.home / SETTINGS_PATH).unlink()
    again = studio(bootstrap, FAKE_AWS_FAIL="1")
    assert again.returncode == 0
    assert "could not fetch the start script from S3, running the last one fetched" in again.stdout
    assert json.loads((studio.home / SETTINGS_PATH).read_text()) == settings


def test_a_bootstrap_that_never_fetched_a_script_still_lets_the_app_start(studio):
    from modules.studio_domain import jupyterlab_bootstrap_script

    proc = studio(jupyterlab_bootstrap_script(region="us-west-2", bucket=BUCKET), FAKE_AWS_FAIL="1")
    assert proc.returncode == 0
    assert "no start script yet: the lab is not set up in this app" in proc.stdout


# --------------------------------------------------------------------------- the lab's kernel

FAKE_IMAGE_PYTHON = textwrap.dedent("""\
    #!/bin/bash
    # The image's Python: records how it was started, then works until FAKE_BUILD_GATE exists
    # (if set), as pip takes its time.
    { echo "argv $*"; echo "cwd $(pwd)"; echo "home $HOME"; } > "$FAKE_PYTHON_RECORD"
    echo building
    if [ -n "${FAKE_BUILD_GATE:-}" ]; then
      for _ in $(seq 600); do [ -e "$FAKE_BUILD_GATE" ] && break; sleep 0.1; done
    fi
    echo "kernel 'pm-lab' ready" && touch "$FAKE_PYTHON_RECORD.done"
    """)


@pytest.fixture()
def image_python(tmp_path) -> Path:
    path = tmp_path / "image" / "bin" / "python"
    path.parent.mkdir(parents=True)
    path.write_text(FAKE_IMAGE_PYTHON)
    path.chmod(0o755)
    return path


def _with_kernel(studio, image_python: Path, **changes: str) -> str:
    """The script with the lab's kernel (pm_lab/kernel.py, requirements.txt) in the fake S3."""
    from studio_startup import BUCKET, script

    lab = Path(studio.home).parent / "s3" / BUCKET / "lab"
    (lab / "pm_lab" / "kernel.py").write_text("# from S3\n")
    (lab / "requirements.txt").write_text("mlflow==2.16.2\n")
    return script(image_python=str(image_python), **changes)


def test_the_lab_kernel_is_built_in_the_background_from_the_copied_lab_after_the_login(studio, image_python):
    import time

    from modules.studio_domain import KERNEL_BUILD_BOUND_S, KERNEL_BUILD_LOG

    record = Path(studio.home).parent / "python.record"
    gate = Path(studio.home).parent / "build.gate"  # the build works until the test opens it
    proc = studio(_with_kernel(studio, image_python), FAKE_PYTHON_RECORD=str(record), FAKE_BUILD_GATE=str(gate))

    assert proc.returncode == 0, proc.stderr
    # The start script returned with the build still under way: Studio's 5 minutes are not spent on pip.
    assert not Path(f"{record}.done").exists()
    gate.touch()
    assert f"kernel: building the lab kernel in the background, log: {studio.home}/{KERNEL_BUILD_LOG}" in proc.stdout
    deadline = time.monotonic() + 60
    while not Path(f"{record}.done").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = record.read_text().splitlines()
    assert lines == ["argv -m pm_lab.kernel install", f"cwd {studio.home}/lab", f"home {studio.home}"]
    assert (studio.home / KERNEL_BUILD_LOG).read_text() == "building\nkernel 'pm-lab' ready\n"
    # After pip's login (the build installs from CodeArtifact) and the lab's copy (its requirements).
    assert proc.stdout.index("pip: CodeArtifact") < proc.stdout.index("lab: s3://") < proc.stdout.index("kernel:")
    script = _with_kernel(studio, image_python)
    assert f"exec nohup timeout {KERNEL_BUILD_BOUND_S} {image_python} -m pm_lab.kernel install)" in script


def test_without_the_images_python_or_the_lab_the_kernel_is_left_to_the_notebook(studio, image_python):
    proc = studio(_with_kernel(studio, image_python), FAKE_AWS_FAIL="1")  # no lab copied: nothing to build from
    assert proc.returncode == 0 and "the lab kernel is not built" in proc.stdout

    missing = Path(studio.home).parent / "no-such" / "python"  # not the SageMaker Distribution image
    proc = studio(_with_kernel(studio, missing))
    assert proc.returncode == 0, proc.stderr
    assert (
        f"WARNING: no {missing} or no lab in {studio.home}/lab: the lab kernel is not built, the notebook builds it"
        in proc.stdout
    )


@pytest.mark.parametrize("running, warned", [("4.4.1-cpu", False), ("4.3.2-cpu", True), (None, False)])
def test_a_space_on_another_release_than_the_pin_is_named_in_the_log(studio, image_python, running, warned):
    extra = {"IMAGE_VERSION": running} if running else {}
    proc = studio(
        _with_kernel(studio, image_python, image_version="4.4.1"),
        FAKE_PYTHON_RECORD=str(Path(studio.home).parent / "python.record"),
        **extra,
    )
    assert proc.returncode == 0, proc.stderr
    warning = (
        "WARNING: this space runs SageMaker Distribution 4.3.2, the deploy pins 4.4.1: the lab is checked "
        "against 4.4.1, so stop the space, choose 4.4.1 as its image and start it again"
    )
    assert (warning in proc.stdout) is warned
    assert "unbound variable" not in proc.stderr and "too many arguments" not in proc.stderr
