"""The shape of the package: short modules, and no module of the library importing the package root
(the public API imports the stages, never the reverse). The import layers themselves are checked by
import-linter in `make test` (the contracts in pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "clsmap"
MODULES = sorted(SRC.rglob("*.py"))
#: the longest a module may be, in lines
LONGEST = 400


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_modules_are_short(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LONGEST, f"{path.relative_to(SRC)} has {lines} lines; split it by what its parts do"


def _imported(path: Path) -> set[str]:
    module = ".".join(("clsmap", *path.relative_to(SRC).with_suffix("").parts))
    return _imports_of(path.read_text(encoding="utf-8"), module)


def _imports_of(source: str, module: str) -> set[str]:
    """The modules that ``source`` (the text of ``module``, e.g. ``clsmap.render.model`` or
    ``clsmap.render.__init__``) imports, relative imports resolved."""
    tree = ast.parse(source)
    package = module
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
    return found


@pytest.mark.parametrize("path", [p for p in MODULES if p != SRC / "__init__.py"],
                         ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_the_package_root(path):
    assert "clsmap" not in _imported(path), f"{path.relative_to(SRC)} imports the package root; import the stage"


def test_the_check_sees_a_root_import():
    """The scan above is real: it finds `from .. import x`, `from clsmap import x` and `import clsmap`."""
    assert "clsmap.store.reader" in _imported(SRC / "render" / "model.py")
    for source in ("from .. import extract\n", "from clsmap import extract\n", "import clsmap\n"):
        assert "clsmap" in _imports_of(source, "clsmap.render.model"), source
    assert "clsmap" not in _imports_of("from ..store import reader\n", "clsmap.render.model")
    assert "clsmap.render" in _imports_of("from . import model\n", "clsmap.render.__init__")
