"""The console's Swedish catalogue is complete and compiled, and the vendored libraries are
the files VERSIONS.md names."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

CONSOLE = Path(__file__).resolve().parents[2] / "backend" / "console"
CATALOGUE = CONSOLE / "translations" / "sv" / "LC_MESSAGES"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(CONSOLE), METHODS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_of_the_console_has_a_swedish_translation():
    catalogue = read_po(io.BytesIO((CATALOGUE / "messages.po").read_bytes()))
    translated = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in catalogue if m.id}
    missing = sorted(m for m in _source_messages() if m not in translated)
    assert missing == [], "run `make translations` and translate these"
    empty = sorted(k for k, m in translated.items() if not m.string or m.fuzzy)
    assert empty == [], "untranslated or fuzzy in messages.po"


def test_the_compiled_catalogue_matches_the_po_file():
    po = read_po(io.BytesIO((CATALOGUE / "messages.po").read_bytes()))
    mo = read_mo(io.BytesIO((CATALOGUE / "messages.mo").read_bytes()))

    def table(catalogue):
        def key(value):
            return value if isinstance(value, str) else tuple(value)

        return {key(m.id): key(m.string) for m in catalogue if m.id}

    assert table(po) == table(mo), "run `make translations` to compile messages.mo"


def test_placeholders_survive_translation():
    po = read_po(io.BytesIO((CATALOGUE / "messages.po").read_bytes()))
    pattern = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z]+\}")
    for message in po:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for source, target in zip(ids, strings, strict=False):
            assert sorted(pattern.findall(source)) == sorted(pattern.findall(target)), source


def test_vendored_files_are_the_ones_recorded():
    versions = (CONSOLE / "static" / "vendor" / "VERSIONS.md").read_text("utf-8")
    recorded = re.findall(r"^([0-9a-f]{64})  (\S+)$", versions, re.MULTILINE)
    assert len(recorded) == 3
    for digest, name in recorded:
        data = (CONSOLE / "static" / "vendor" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
    for licence in ("htmx-2.0.11/LICENSE", "leaflet-1.9.4/LICENSE"):
        assert (CONSOLE / "static" / "vendor" / licence).stat().st_size > 100
