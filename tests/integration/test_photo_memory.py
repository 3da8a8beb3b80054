"""Hostile photos are refused with bounded memory, measured in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers.servers import REPO

SCRIPT = """
import json, resource, sys
from media.errors import MediaError
from media.validate import Limits, validate
from tests.helpers.photos import hostile_files, jpeg_claiming

files = hostile_files()
files["jpeg_claiming_65000x65000"] = jpeg_claiming(65_000, 65_000)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
codes = {}
for name, data in files.items():
    try:
        validate(data, Limits(max_bytes=25 * 1024 * 1024, max_pixels=50_000_000))
        codes[name] = "accepted"
    except MediaError as exc:
        codes[name] = exc.code
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_kib": after - before, "codes": codes}))
"""


def test_refusing_hostile_files_takes_no_more_than_a_few_megabytes():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert "accepted" not in result["codes"].values(), result["codes"]
    # A 20,000 x 20,000 RGB decode would need 1.2 GB; 65,000 squared, 12 GB.
    assert result["grew_kib"] < 32 * 1024, result
