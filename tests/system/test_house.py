"""The shape of the package: short modules and functions, no private name or package root imported across
modules (the public API imports the stages, never the reverse), no name hiding its module, no results in
DataFrame.attrs. The import layers themselves are checked by import-linter in `make test` (the contracts
in pyproject.toml)."""

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


#: the longest a function may be, in lines of code (its docstring, blank lines and comments not counted)
LONGEST_FUNCTION = 60


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    body = node.body
    docstring = (body[0].end_lineno or 0) - body[0].lineno + 1 if (
        body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)) else 0
    code = [line for line in lines[node.lineno - 1:node.end_lineno]
            if line.strip() and not line.strip().startswith("#")]
    return len(code) - docstring


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_functions_are_short(path):
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    functions = [node for node in ast.walk(ast.parse(source)) if isinstance(node, kinds)]
    long = [f"{node.name} ({_code_lines(node, lines)} lines)" for node in functions
            if _code_lines(node, lines) > LONGEST_FUNCTION]
    assert not long, f"{path.relative_to(SRC)}: {', '.join(long)}; split into named steps"


def test_the_length_check_counts_code_only():
    source = 'def f():\n    """doc\n    more doc"""\n    # a comment\n\n    a = 1\n    return a\n'
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef) and _code_lines(node, source.splitlines()) == 3  # def, a =, return


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_name_crosses_modules(path):
    """A module imports what another module offers, never its ``_private`` names."""
    crossing = [f"{node.module}.{alias.name}" for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.ImportFrom) for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not crossing, f"{path.relative_to(SRC)} imports private names: {', '.join(crossing)}"


def test_no_function_shadows_its_module():
    """``clsmap.x.y`` is the module ``y`` wherever a package ``x`` has one: no function or class of the same
    name hides it."""
    import importlib
    import inspect
    import pkgutil

    shadowed = []
    for path in sorted(SRC.rglob("__init__.py")):
        name = ".".join(("clsmap", *path.parent.relative_to(SRC).parts))
        package = importlib.import_module(name)
        for sub in pkgutil.iter_modules(package.__path__):
            value = getattr(package, sub.name, None)
            if value is not None and not inspect.ismodule(value):
                shadowed.append(f"{name}.{sub.name}")
    assert not shadowed, f"names that hide their module: {', '.join(shadowed)}"


def test_results_travel_in_types_not_in_frame_attrs():
    users = [str(p.relative_to(SRC)) for p in MODULES if ".attrs" in p.read_text(encoding="utf-8")]
    assert not users, f"DataFrame.attrs used in {', '.join(users)}: return a dataclass instead"
