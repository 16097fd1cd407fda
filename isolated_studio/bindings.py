"""Load only the AWS provider modules the stacks use, not all ~2,100 of them.

The prebuilt bindings' package ``__init__`` (cdktf-cdktf-provider-aws) ends with one
``from . import <resource>`` per resource and data source of the provider: importing any of
them, even ``cdktf_cdktf_provider_aws.vpc``, executes all ~2,100 modules first. That is about
three quarters of a synthesis (~7.4 s of ~10 s on a 2-core machine) spent on classes no stack
uses.

Every resource module is self-contained: it needs only the package's jsii assembly
(``from .._jsii import *``), not its siblings. :func:`install` therefore runs the package's
own ``__init__`` without those eager imports, so the assembly is loaded exactly as before
and each resource module is imported when a stack first imports it. The synthesized JSON is
byte for byte the same (``tests/integration/stacks/test_bindings_full_import.py``
synthesizes every stack both ways).

The JavaScript side has the same shape: the assembly's ``lib/index.js``, which the jsii
runtime (node) requires when the package loads its assembly, requires every resource module
(~4 s of the ~5 s that load took). ``lazy_provider.js``, preloaded into that runtime while the
package loads, turns those requires into getters, so node too loads only what the stacks use.

If the installed package does not look like that (another version of the generator), the
whole package is imported as usual, after a one-line warning: slower, never wrong.

Call :func:`install` before anything imports the provider: ``main.py`` (and so ``cdktf
synth``) and the test session do.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

PACKAGE = "cdktf_cdktf_provider_aws"
LAZY_REQUIRES = Path(__file__).with_name("lazy_provider.js")


class LayoutChanged(Exception):
    """The package is not laid out as the fast path expects."""


def install(package: str = PACKAGE) -> ModuleType:
    """Import ``package`` with its resource modules on demand; fall back to a full import."""
    if package in sys.modules:  # already imported, fast or not: nothing to gain any more
        return sys.modules[package]
    try:
        spec, origin, tree = _lazy_init(package)
    except LayoutChanged as why:
        print(f"warning: {package}: {why}; importing all of its modules (slower synthesis)", file=sys.stderr)
        return importlib.import_module(package)
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    try:
        with node_preload(LAZY_REQUIRES):
            exec(compile(tree, origin, "exec"), module.__dict__)
    except BaseException:
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        raise
    # The package may replace itself in sys.modules (publication.publish() does).
    return sys.modules[package]


@contextmanager
def node_preload(script: Path) -> Iterator[None]:
    """``node --require script`` for a jsii runtime started inside the block.

    The jsii runtime starts with the first assembly a process loads, with the process's
    environment: the package's own ``_jsii`` import, unless something loaded cdktf earlier
    (then its index.js is required in full: slower, the same classes). The previous
    NODE_OPTIONS comes back afterwards, so that no other program this process starts gets it.
    """
    before = os.environ.get("NODE_OPTIONS")
    os.environ["NODE_OPTIONS"] = " ".join(filter(None, [before, f'--require "{script}"']))
    try:
        yield
    finally:
        if before is None:
            del os.environ["NODE_OPTIONS"]
        else:
            os.environ["NODE_OPTIONS"] = before


def _lazy_init(package: str) -> tuple[importlib.machinery.ModuleSpec, str, ast.Module]:
    """The package's spec, its ``__init__``'s path and that ``__init__`` without the eager
    ``from . import x`` lines."""
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise ModuleNotFoundError(f"No module named {package!r}", name=package)
    if not spec.submodule_search_locations or not spec.origin or not spec.origin.endswith("__init__.py"):
        raise LayoutChanged("not a regular package")
    root = Path(spec.origin).parent
    if not (root / "_jsii" / "__init__.py").is_file():
        raise LayoutChanged("no _jsii assembly module")
    tree = ast.parse(Path(spec.origin).read_bytes(), filename=spec.origin)
    eager = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None]
    loads_assembly = any(
        isinstance(node, ast.ImportFrom) and node.level == 1 and node.module == "_jsii" for node in tree.body
    )
    if not loads_assembly:
        raise LayoutChanged("__init__ does not import its _jsii assembly")
    if not eager:
        raise LayoutChanged("__init__ has no eager submodule imports to skip")
    missing = [a.name for node in eager for a in node.names if not (root / a.name / "__init__.py").is_file()]
    if missing:
        raise LayoutChanged(f"__init__ imports {missing[0]!r}, which is not a subpackage")
    skipped = {id(node) for node in eager}
    tree.body = [node for node in tree.body if id(node) not in skipped]
    return spec, spec.origin, tree
