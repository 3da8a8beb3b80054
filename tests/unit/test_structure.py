"""The code's shape: no module in backend/, sync/ or media/ (migrations aside) past 400 lines,
no function past 80, and every module says in its docstring what it owns (STYLE.md: "a module
past ~400 lines is usually two concepts"). What is still over is listed below, each with why;
an entry that no longer applies fails too, so the list only shrinks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("backend", "sync", "media")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

LONG_MODULES = {
    # A configuration table: each setting with the reason for its default, grouped by area in
    # functions under 80 lines. It is the one module that reads os.environ (STYLE.md), so its
    # parsing helpers cannot move out; splitting it would put one table in several places.
    "backend/config.py": "the configuration table",
}
LONG_FUNCTIONS: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _length(node: ast.AST) -> int:
    return int(node.end_lineno or node.lineno) - node.lineno + 1  # type: ignore[attr-defined]


def test_the_walk_finds_the_packages() -> None:
    names = {_name(p) for p in _modules()}
    assert {"backend/app.py", "sync/envelope.py", "media/storage.py"} <= names
    assert not any("migrations" in name for name in names)


def test_no_module_past_400_lines() -> None:
    long = {
        _name(p): n
        for p in _modules()
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert {k: v for k, v in long.items() if k not in LONG_MODULES} == {}
    # An allowance whose module is short again is taken off the list.
    assert sorted(set(LONG_MODULES) - set(long)) == []


def test_no_function_past_80_lines() -> None:
    long = {}
    for path in _modules():
        for node in _functions(ast.parse(path.read_text("utf-8"))):
            if (n := _length(node)) > MAX_FUNCTION_LINES:
                long[f"{_name(path)}:{node.name}"] = n
    assert {k: v for k, v in long.items() if k not in LONG_FUNCTIONS} == {}
    assert sorted(set(LONG_FUNCTIONS) - set(long)) == []


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_every_module_says_what_it_owns(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text("utf-8")))
    assert docstring and len(docstring.split()) >= 3, f"{_name(path)}: no module docstring"


def test_the_checks_catch_a_long_function_and_a_missing_docstring() -> None:
    source = "def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES
    (function,) = _functions(ast.parse(source))
    assert _length(function) == MAX_FUNCTION_LINES + 1
    assert ast.get_docstring(ast.parse(source)) is None
