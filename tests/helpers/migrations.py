"""Alembic migration modules loaded by file, for tests of the frozen copies they carry (a
migration must not change when the code it copied from does)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).resolve().parents[2] / "backend" / "migrations" / "versions"


@functools.cache
def load_migration(number: str) -> ModuleType:
    """The migration whose file name starts with ``number`` (``"0012"``), as a module (loaded
    once: the property tests call it for every example)."""
    (path,) = VERSIONS.glob(f"{number}_*.py")
    spec = importlib.util.spec_from_file_location(f"migration_{number}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
