"""Imports go one way: down the layers, never round a circle across packages, and an import inside
a function says why it is not at the top (issue 11).

The import graph is read from the source (an AST walk over baas/), imports inside functions
included. Imports under ``if TYPE_CHECKING:`` are left out of the layer and cycle checks: they
never run, and they are how a module names a type from a layer above it (``Engine``). A unit is a
subpackage (``baas.records``) or a top-level module (``baas.core``); imports inside one unit are
its own business.

The last tests walk tests/ the same way: no module there imports from a test module (``test_*``);
shared test code lives in helper modules and conftest.py files.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAAS = ROOT / "baas"

# Top to bottom: a unit may import its own layer's units and those below, never those above.
# baas.core (the Engine) is the composition root: Engine.__init__ creates every service, so it
# sits above them; services name the Engine type under TYPE_CHECKING only. baas.plugin_loader
# (called by Engine.load_plugins) and baas.plugins (the PluginApp it hands to plugins) go with it, and
# baas.backups, which works on a whole install (a restore starts an engine on what it restored).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("cli", ("baas.cli",)),
    ("app", ("baas.app",)),
    ("api", ("baas.api",)),
    ("engine", ("baas.core", "baas.plugin_loader", "baas.plugins", "baas.backups")),
    (
        "services",
        (
            "baas.records",
            "baas.auth",
            "baas.files",
            "baas.realtime",
            "baas.jobs",
            "baas.functions",
            "baas.admin",
            "baas.webhooks",
            "baas.push",
            "baas.typegen",
            "baas.logs",
            "baas.gdpr",
        ),
    ),
    (
        "core",
        (
            "baas.settings_store",
            "baas.limiter",
            "baas.tasks",
            "baas.hooks",
            "baas.events",
            "baas.secret",
            "baas.metrics",
            "baas.clientip",
        ),
    ),
    # Alembic runs the migration scripts by path (never imported by the package); data migrations such as
    # 0004 use the schema model, so they sit above it. The planner checks rules against the schema, and
    # builds search indexes (baas.search) as the rule language's full-text part reads them.
    ("migrations, planner", ("baas.db.migrations", "baas.planner", "baas.search")),
    ("rules, schema", ("baas.rules", "baas.schema")),
    ("db", ("baas.db",)),
    ("base", ("baas.errors", "baas.ids", "baas.settings")),  # importable from anywhere, import nothing
]
LAYER_OF = {unit: i for i, (_, units) in enumerate(LAYERS) for unit in units}
ABOVE_THE_API = ("baas.cli", "baas.app", "baas.api")
REASON = re.compile(r"#\s*import here:\s*\S")


@dataclass(frozen=True)
class Import:
    path: Path  # the importing file
    line: int
    module: str  # the importing module
    target: str  # the imported module (a ``from m import name`` names m.name when that is a module)
    type_checking: bool  # under ``if TYPE_CHECKING:``
    in_function: bool

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def unit(module: str) -> str:
    """``baas.records.write`` → ``baas.records``; ``baas.core`` → ``baas.core``;
    ``baas.db.migrations.versions.0004_…`` → ``baas.db.migrations``."""
    if module.startswith("baas.db.migrations"):
        return "baas.db.migrations"
    return ".".join(module.split(".")[:2])


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(BAAS.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement with (under TYPE_CHECKING, inside a function)."""
    stack: list[tuple[ast.AST, bool, bool]] = [(tree, False, False)]
    while stack:
        node, tc, fn = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, tc, fn
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack += [(c, True, fn) for c in node.body] + [(c, tc, fn) for c in node.orelse]
            continue
        inner = fn or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        stack += [(c, tc, inner) for c in ast.iter_child_nodes(node)]


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:  # relative: from the package of this module, `level - 1` packages up
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    return sorted({f"{base}.{a.name}" if f"{base}.{a.name}" in modules() else base for a in node.names})


@cache
def imports() -> tuple[Import, ...]:
    found = []
    for module, path in modules().items():
        tree = ast.parse(path.read_text(), str(path))
        for node, tc, fn in _import_nodes(tree):
            for target in _targets(module, path.name == "__init__.py", node):
                found.append(Import(path, node.lineno, module, target, tc, fn))
    return tuple(sorted(found, key=lambda i: (str(i.path), i.line, i.target)))


def _cross_unit(include_type_checking: bool = False) -> list[Import]:
    """Imports of another baas unit (the root package ``baas`` itself aside)."""
    return [
        i
        for i in imports()
        if i.target.startswith("baas.")
        and unit(i.target) != unit(i.module)
        and (include_type_checking or not i.type_checking)
    ]


def _describe(i: Import) -> str:
    how = " (inside a function)" if i.in_function else ""
    return f"{i.where} imports {i.target}{how}"


UNITS = sorted({unit(m) for m in modules()} - {"baas"})


def test_every_package_has_a_layer() -> None:
    """A new subpackage or top-level module is placed in LAYERS on purpose."""
    assert [u for u in UNITS if u not in LAYER_OF] == []
    assert [u for u in LAYER_OF if u not in UNITS] == [], "LAYERS names a unit that is gone"


@pytest.mark.parametrize("importer", UNITS)
def test_imports_go_down_the_layers(importer: str) -> None:
    """``importer`` imports only units of its own layer or below (TYPE_CHECKING imports aside)."""
    here = LAYER_OF.get(importer, 0)
    upward = [
        f"{_describe(i)}: {LAYERS[here][0]} → {LAYERS[LAYER_OF[unit(i.target)]][0]}"
        for i in _cross_unit()
        if unit(i.module) == importer and unit(i.target) in LAYER_OF and LAYER_OF[unit(i.target)] < here
    ]
    assert not upward, "\n".join(upward)


BELOW_THE_API = [u for u in UNITS if LAYER_OF.get(u, 0) > LAYER_OF["baas.api"]]


@pytest.mark.parametrize("importer", BELOW_THE_API)
def test_nothing_below_the_api_imports_it(importer: str) -> None:
    """Stricter for the HTTP layer and above: not even under TYPE_CHECKING or in a function."""
    upward = [
        _describe(i)
        for i in _cross_unit(include_type_checking=True)
        if unit(i.module) == importer and unit(i.target) in ABOVE_THE_API
    ]
    assert not upward, "\n".join(upward)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_across_packages() -> None:
    """No circle of runtime imports (inside functions included) through two or more units. Each
    circle is reported with the imports that close it: those going up a layer, and those between
    units of one layer that import each other round a circle of their own."""
    edges: dict[str, set[str]] = {}
    for i in _cross_unit():
        edges.setdefault(unit(i.module), set()).add(unit(i.target))
    level = {u: LAYER_OF.get(u, 0) for u in UNITS}
    same_layer = {u: {t for t in targets if level[t] == level[u]} for u, targets in edges.items()}
    in_layer_cycle = {u: set(c) for c in _cycles(same_layer) for u in c}
    report = []
    for component in _cycles(edges):
        closing = [
            _describe(i)
            for i in _cross_unit()
            if unit(i.module) in component
            and unit(i.target) in component
            and (
                level[unit(i.target)] < level[unit(i.module)]
                or unit(i.target) in in_layer_cycle.get(unit(i.module), ())
            )
        ]
        report.append(f"cycle through {', '.join(component)}; closed by:\n    " + "\n    ".join(closing))
    assert not report, "\n".join(report)


def test_an_import_inside_a_function_says_why() -> None:
    """Imports belong at the top; one inside a function (a real optional dependency, a cycle that
    cannot be removed) carries ``# import here: <reason>`` on its line or in the comment above."""
    missing = []
    for i in imports():
        if not i.in_function:
            continue
        lines = _lines(i.path)
        above = []
        n = i.line - 2  # the line above, 0-based
        while n >= 0 and lines[n].strip().startswith("#"):
            above.append(lines[n])
            n -= 1
        if not REASON.search(lines[i.line - 1]) and not any(REASON.search(line) for line in above):
            missing.append(f"{i.where} {lines[i.line - 1].strip()}")
    missing = sorted(set(missing))
    assert not missing, f"{len(missing)} without a reason:\n" + "\n".join(missing)


@cache
def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


WALKER_SAMPLE = """\
from typing import TYPE_CHECKING
import baas.errors
from . import write
from ..schema import model

if TYPE_CHECKING:
    from baas.core import Engine


def f():
    from baas.ids import new_id  # import here: the sample's reason
"""


def test_the_walk_sees_what_it_must() -> None:
    """Guards the walker itself: each kind of import is found and classified."""
    tree = ast.parse(WALKER_SAMPLE)
    found = {t: (tc, fn) for node, tc, fn in _import_nodes(tree) for t in _targets("baas.records.query", False, node)}
    assert found == {
        "typing": (False, False),
        "baas.errors": (False, False),
        "baas.records.write": (False, False),
        "baas.schema.model": (False, False),
        "baas.core": (True, False),
        "baas.ids": (False, True),
    }
    assert len(imports()) > 100 and any(i.in_function for i in imports())


# -- test modules ----------------------------------------------------------------------------------
# A test module (tests/**/test_*.py) imports from helper modules (tests/harness.py, tests/<pkg>/*kit.py,
# …) and gets fixtures from conftest.py files, never from another test module: a test file is its own
# to change, and importing from one ties two test files together (renaming, moving or trimming one
# breaks the other).
TESTS = ROOT / "tests"


def _is_test_module(dotted: str) -> bool:
    """``tests.auth.test_mail`` (or ``tests.test_db``): a module of the test suite named ``test_*``."""
    parts = dotted.split(".")
    return parts[0] == "tests" and len(parts) > 1 and parts[-1].startswith("test_")


def imports_of_test_modules(module: str, is_package: bool, tree: ast.Module) -> list[tuple[int, str]]:
    """(line, test module) for each import of a test module in ``tree`` (the source of ``module``):
    ``import tests.a.test_b``, ``from tests.a.test_b import x``, ``from tests.a import test_b`` and
    their relative forms, at any depth (in functions, under ``if``)."""
    found = []
    for node, _, _ in _import_nodes(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:  # relative: from the package of this module, `level - 1` packages up
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            names = [base] if _is_test_module(base) else [f"{base}.{a.name}" for a in node.names]
        found += [(node.lineno, name) for name in names if _is_test_module(name)]
    return sorted(found)


def _test_sources() -> Iterator[tuple[str, Path]]:
    for path in sorted(TESTS.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def test_no_test_module_imports_another() -> None:
    """Shared test code lives in helper modules and conftest.py files; no file under tests/ imports
    from a ``test_*`` module."""
    bad = []
    for module, path in _test_sources():
        tree = ast.parse(path.read_text(), str(path))
        for line, target in imports_of_test_modules(module, path.name == "__init__.py", tree):
            bad.append(f"{path.relative_to(ROOT)}:{line} imports from the test module {target}")
    assert len(list(_test_sources())) > 100  # the walk found the suite
    assert not bad, "move what is shared to a helper module or a conftest.py:\n" + "\n".join(bad)


TEST_IMPORT_SAMPLE = """\
import tests.auth.test_mail
import tests.harness
from tests.auth.test_oauth2 import idp as idp
from tests.auth import test_mail, mailkit
from tests.auth.mailkit import token_for
from .test_recipe import stripe_signed
from . import test_recipe, stripekit
from .. import test_db
from ..auth import test_mail as m


def f():
    from tests.test_db import x
"""


def test_the_test_module_walk_sees_every_form() -> None:
    """Guards the check above: each way of importing a test module is found, helper imports are not."""
    tree = ast.parse(TEST_IMPORT_SAMPLE)
    assert imports_of_test_modules("tests.inbound.test_inbound", False, tree) == [
        (1, "tests.auth.test_mail"),
        (3, "tests.auth.test_oauth2"),
        (4, "tests.auth.test_mail"),
        (6, "tests.inbound.test_recipe"),
        (7, "tests.inbound.test_recipe"),
        (8, "tests.test_db"),
        (9, "tests.auth.test_mail"),
        (13, "tests.test_db"),
    ]
