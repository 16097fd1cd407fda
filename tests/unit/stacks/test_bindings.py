"""Fast provider bindings: only the modules the stacks use, or a full import with a warning (the same Terraform as a
full import: tests/integration/stacks/test_bindings_full_import.py)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from isolated_studio import bindings


def test_fast_path_loads_only_what_the_stacks_use(synth, tmp_path):
    from main import build_app

    build_app(synth.config, tmp_path).synth()  # here: another worker may have made the session's
    loaded = [n for n in sys.modules if n.startswith(bindings.PACKAGE + ".")]
    # The package has ~2,100 resource modules; the stacks use ~50 types (a module and its _private each).
    assert 10 < len(loaded) < 150, f"{len(loaded)} provider modules loaded in this session"


# A stand-in for the provider package, laid out like the generated one: a _jsii module that
# registers the assembly, self-contained resource modules and one eager import per resource.
FAKE_INIT = textwrap.dedent("""
    import sys

    from ._jsii import *

    __all__ = ["alpha", "beta"]

    sys.modules[__name__].init_ran = True

    from . import alpha
    from . import beta
""")


def _fake_package(root: Path, name: str, init: str = FAKE_INIT, jsii: bool = True) -> None:
    package = root / name
    for sub in ("alpha", "beta"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text(("from .._jsii import *\n" if jsii else "") + f"NAME = {sub!r}\n")
    if jsii:
        (package / "_jsii").mkdir()
        (package / "_jsii" / "__init__.py").write_text(
            "__jsii_assembly__ = 'loaded'\n__all__ = ['__jsii_assembly__']\n"
        )
    (package / "__init__.py").write_text(init)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("fake_provider")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_resource_modules_load_on_demand_with_the_assembly(fake, capsys):
    _fake_package(fake, "fake_provider_ok")
    package = bindings.install("fake_provider_ok")
    assert package.init_ran and package.__jsii_assembly__ == "loaded"
    assert "fake_provider_ok.alpha" not in sys.modules and "fake_provider_ok.beta" not in sys.modules
    from fake_provider_ok.beta import NAME

    assert NAME == "beta" and "fake_provider_ok.alpha" not in sys.modules
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "layout, reason",
    [
        ({"jsii": False, "init": FAKE_INIT.replace("from ._jsii import *", "")}, "no _jsii assembly module"),
        ({"init": FAKE_INIT.replace("from ._jsii import *", "")}, "does not import its _jsii assembly"),
        ({"init": FAKE_INIT.replace("from . import alpha\nfrom . import beta", "")}, "no eager submodule imports"),
        ({"init": FAKE_INIT + "from . import gamma\n"}, "imports 'gamma', which is not a subpackage"),
    ],
    ids=["no-jsii", "no-assembly-import", "no-eager-imports", "unknown-submodule"],
)
def test_an_unexpected_layout_falls_back_to_the_full_import_with_a_one_line_warning(fake, capsys, layout, reason):
    name = f"fake_provider_{len(reason)}"
    if "gamma" in layout.get("init", ""):
        (fake / name / "gamma").mkdir(parents=True)  # a plain directory: importable, but no package
    _fake_package(fake, name, **layout)
    eager = "from . import alpha" in layout.get("init", FAKE_INIT)
    package = bindings.install(name)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"warning: {name}: ") and reason in err
    assert "importing all of its modules" in err
    assert package.init_ran and (f"{name}.alpha" in sys.modules) == eager  # the package's own __init__ ran


def test_an_already_imported_package_is_left_alone(fake, capsys):
    _fake_package(fake, "fake_provider_done")
    full = importlib.import_module("fake_provider_done")
    assert bindings.install("fake_provider_done") is full
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- the jsii runtime's side

EAGER_INDEX = textwrap.dedent("""\
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.beta = exports.alpha = void 0;
    exports.alpha = require("./alpha");
    exports.beta = require("./beta");
""")


def _node_package(root: Path, scope: str, index: str = EAGER_INDEX) -> Path:
    lib = root / "node_modules" / scope / "lib"
    lib.mkdir(parents=True)
    for name in ("alpha", "beta"):
        (lib / f"{name}.js").write_text(
            f'globalThis.loaded = (globalThis.loaded || []).concat("{name}");\nexports.NAME = "{name}";\n'
        )
    (lib / "index.js").write_text(index)
    return lib / "index.js"


def _node(index: Path) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(f"""\
        const index = require({json.dumps(str(index))});
        const before = [...(globalThis.loaded || [])];
        const name = index.beta.NAME;
        console.log(JSON.stringify({{before, name, after: globalThis.loaded || [], keys: Object.keys(index).sort()}}));
    """)
    return subprocess.run(
        ["node", "--require", str(bindings.LAZY_REQUIRES), "-e", script], capture_output=True, text=True, timeout=60
    )


def test_node_requires_a_provider_module_only_when_its_export_is_first_used(tmp_path):
    proc = _node(_node_package(tmp_path, "@cdktf/provider-aws"))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    seen = json.loads(proc.stdout)
    assert seen == {"before": [], "name": "beta", "after": ["beta"], "keys": ["alpha", "beta"]}


def test_node_leaves_other_packages_and_an_unexpected_provider_index_as_they_are(tmp_path):
    other = _node(_node_package(tmp_path / "other", "@cdktf/provider-other"))
    assert json.loads(other.stdout)["before"] == ["alpha", "beta"] and other.stderr == ""

    changed = EAGER_INDEX.replace('exports.alpha = require("./alpha");', 'exports.alpha = require("./alpha")')
    changed = changed.replace('exports.beta = require("./beta");', 'Object.assign(exports, {beta: require("./beta")});')
    proc = _node(_node_package(tmp_path / "changed", "@cdktf/provider-aws", changed))
    assert json.loads(proc.stdout)["before"] == ["alpha", "beta"]
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("warning: ") and "loading all of them" in proc.stderr


@pytest.mark.parametrize("before", [None, "--max-old-space-size=512"])
def test_the_preload_is_in_node_options_only_while_the_package_loads(monkeypatch, before):
    if before is None:
        monkeypatch.delenv("NODE_OPTIONS", raising=False)
    else:
        monkeypatch.setenv("NODE_OPTIONS", before)
    with bindings.node_preload(Path("/x y/lazy.js")):
        assert os.environ["NODE_OPTIONS"] == " ".join(filter(None, [before, '--require "/x y/lazy.js"']))
    assert os.environ.get("NODE_OPTIONS") == before
