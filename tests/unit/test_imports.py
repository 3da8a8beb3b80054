"""The import graph of backend/, sync/ and media/ (every import, function-local ones included,
read from the source by grimp): no cycles, dependencies one way, ``backend.app`` only from
``wsgi.py``. A cycle hidden in a function body is still a cycle: it makes the modules one unit
that cannot be read, tested or changed alone."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

PACKAGES = ("backend", "sync", "media")

SERVICE_LAYERS = (
    "backend.sync.services",
    "backend.tasks.services",
    "backend.cases.services",
    "backend.routing.services",
    "backend.delivery.services | backend.feed.services",
)
"""The core use cases, highest first (README, "Architecture"): a layer may import the layers
below it, never one above."""


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=True, cache_dir=None)


def cycles(graph: grimp.ImportGraph, packages: tuple[str, ...] = PACKAGES) -> list[tuple[str, ...]]:
    """One shortest cycle through each direct import that is part of one."""

    def ours(module: str) -> bool:
        return module.split(".")[0] in packages

    found: set[tuple[str, ...]] = set()
    for importer in sorted(m for m in graph.modules if ours(m)):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if not ours(imported):
                continue
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                loop = (importer, *back)
                start = loop.index(min(loop[:-1]))  # one spelling per cycle
                found.add(loop[start:-1] + loop[:start] + (loop[start],))
    return sorted(found)


def test_no_module_imports_itself_through_others(graph: grimp.ImportGraph) -> None:
    assert [" -> ".join(c) for c in cycles(graph)] == []


def test_the_cycle_check_sees_function_local_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above is only worth something if it catches the kind of cycle it was written
    for: two modules importing each other inside function bodies."""
    package = tmp_path / "loopy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from loopy import b\n    return b\n")
    (package / "b.py").write_text("def g():\n    from loopy.a import f\n    return f\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("loopy", cache_dir=None)
    assert cycles(graph, ("loopy",)) == [("loopy.a", "loopy.b", "loopy.a")]


def test_the_use_cases_depend_one_way(graph: grimp.ImportGraph) -> None:
    illegal = graph.find_illegal_dependencies_for_layers(layers=SERVICE_LAYERS)
    assert [f"{d.importer} imports {d.imported}" for d in illegal] == []


def test_only_wsgi_builds_the_app(graph: grimp.ImportGraph) -> None:
    """Jobs, the CLI and the demo run in the app they are given (``flask --app wsgi ...``);
    an app built a second time inside a job has other settings than the worker's."""
    importers = graph.find_modules_that_directly_import("backend.app")
    assert sorted(importers) == []


@pytest.mark.parametrize("library", ["sync", "media"])
def test_the_libraries_know_no_flask_and_no_backend(graph: grimp.ImportGraph, library: str) -> None:
    modules = graph.find_descendants(library) | {library}
    leaks = {
        (m, imported)
        for m in modules
        for imported in graph.find_modules_directly_imported_by(m)
        if imported.split(".")[0] in ("flask", "flask_smorest", "backend", "sqlalchemy")
    }
    assert sorted(leaks) == []


READERS = ("backend.cases.reads", "backend.tasks.reads", "backend.cases.visibility")
"""Modules that read and change nothing: every use case may ask them, so they may reach none
of the use cases above the phones' statuses and the outbox (the lowest layer)."""


@pytest.mark.parametrize("reader", READERS)
def test_the_read_modules_sit_below_the_use_cases(graph: grimp.ImportGraph, reader: str) -> None:
    above = SERVICE_LAYERS[:-1]
    reached = [layer for layer in above if graph.chain_exists(importer=reader, imported=layer)]
    assert reached == []
