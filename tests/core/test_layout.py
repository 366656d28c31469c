"""The package's shape: imports point one way, nothing heavy loads at import, no cycles, one job per core module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import ROOT

PACKAGE = ROOT / "labkit"
HEAVY = ("matplotlib", "ipywidgets", "papermill", "nbgrader", "nbclient", "nbconvert", "labkit.course")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
ENTRY = "labkit.__main__"  # `python -m labkit`: hands over to the course command line; not part of the core
CORE = sorted(m for m in MODULES if m.count(".") == 1 and m != ENTRY
              and not m.startswith(("labkit.lessons", "labkit.course")))
LESSONS = sorted(m for m in MODULES if m.startswith("labkit.lessons."))
COURSE = sorted(m for m in MODULES if m.startswith("labkit.course"))


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, (ast.Name, ast.Attribute)) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(module: str) -> set[str]:
    """Every labkit module ``module`` imports, at the top or inside a function (``TYPE_CHECKING`` blocks aside)."""
    tree = ast.parse(MODULES[module].read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in MODULES and name != module}


def test_the_layout_is_there() -> None:
    for name in ("errors", "device", "machine", "data", "params", "results", "history", "train", "plot", "bench",
                 "explorer", "paths", "models", "processes", "footprint"):
        assert f"labkit.{name}" in CORE, f"core module labkit.{name} is missing"
    for name in ("cli", "catalog", "runs", "executor", "sweep", "report", "release", "grade", "feedback"):
        assert f"labkit.course.{name}" in COURSE, f"labkit.course.{name} is missing"
    assert {"labkit.lessons.memory", "labkit.lessons.losses", "labkit.lessons.descent", "labkit.lessons.regression",
            "labkit.lessons.hardware", "labkit.lessons.backprop", "labkit.lessons.classify", "labkit.lessons.compress",
            "labkit.lessons.parallel", "labkit.lessons.tokens", "labkit.lessons.gpt",
            "labkit.lessons.scaling"} <= set(LESSONS)


@pytest.mark.parametrize("module", CORE + LESSONS)
def test_core_and_lessons_never_import_the_course_tools(module: str) -> None:
    course = sorted(name for name in imports(module) if name.startswith("labkit.course"))
    assert not course, f"{module} imports {course}: labkit.course is for instructors and scripts only"


def test_the_entry_module_only_hands_over_to_the_command_line() -> None:
    assert ENTRY in MODULES, "labkit/__main__.py is missing: `python -m labkit` would not run"
    assert imports(ENTRY) == {"labkit.course.cli"}, f"{ENTRY} imports {sorted(imports(ENTRY))}: only the CLI"
    importers = sorted(m for m in MODULES if m != ENTRY and ENTRY in imports(m))
    assert not importers, f"{importers} import {ENTRY}: an entry module is run, never imported"


def test_import_labkit_runs_no_entry_module_and_loads_no_course_tool() -> None:
    code = "import sys, labkit; print(sorted(m for m in sys.modules if m in ('labkit.__main__', 'labkit.course')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]", f"import labkit loaded {out.strip()}"


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_lesson(module: str) -> None:
    lessons = sorted(name for name in imports(module) if name.startswith("labkit.lessons."))
    assert not lessons, f"{module} imports {lessons}: a helper two lessons share belongs in the core"


@pytest.mark.parametrize("module", LESSONS)
def test_a_lesson_imports_no_other_lesson(module: str) -> None:
    others = sorted(name for name in imports(module) if name.startswith("labkit.lessons.") and name != module)
    assert not others, f"{module} imports {others}: move what both need into the core"


def test_no_import_cycles() -> None:
    graph = {module: imports(module) for module in MODULES}
    state: dict[str, str] = {}

    def walk(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if target == "labkit":  # the package's face re-exports; importing it is not a dependency cycle
                continue
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                walk(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])


def test_import_labkit_and_every_lesson_stays_cheap() -> None:
    code = (
        "import sys, importlib\n"
        f"for name in {['labkit', *LESSONS]!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]", f"importing labkit and its lessons loaded {out.strip()}"


@pytest.mark.parametrize("module", CORE)
def test_each_core_module_says_its_one_job(module: str) -> None:
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text()))
    assert doc, f"{module} has no docstring"
    first = doc.splitlines()[0]
    assert " and " not in f" {first} ", f"{module}: the docstring's first line names two jobs: {first!r}"


def test_the_course_tools_start_without_torch() -> None:
    # A grading job is a fresh process per submission: torch would cost it a second and a half.
    code = (
        "import sys, importlib\n"
        f"for name in {COURSE!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in ('torch', 'matplotlib', 'ipywidgets') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]", f"importing labkit.course loaded {out.strip()}"
