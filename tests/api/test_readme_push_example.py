"""The README's example push is accepted as shown and answered as the README shows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from tests.helpers.servers import REPO


def _example() -> tuple[dict, dict]:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme[readme.index("An example push:") :]
    blocks = re.findall(r"```json\n(.*?)```", section, flags=re.S)
    return json.loads(blocks[0]), json.loads(blocks[1])


def test_readme_example_push_gets_the_documented_answer(client, field_user):
    body, documented = _example()
    # The README's dates are fixed; the push refuses items older than SYNC_MAX_ITEM_AGE_DAYS,
    # so the same times of day are moved to the last hours before now.
    shift = datetime.now(UTC) - timedelta(minutes=1) - datetime.fromisoformat(body["sent_at"])
    body["sent_at"] = (datetime.fromisoformat(body["sent_at"]) + shift).isoformat()
    for item in body["items"]:
        item["captured_at"] = (datetime.fromisoformat(item["captured_at"]) + shift).isoformat()
    response = client.post("/api/v1/sync/push", json=body, headers=field_user.headers)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer.keys() == documented.keys()

    def comparable(result: dict) -> dict:
        # A case id is the server's own: only whether there is one can match.
        return {**result, "case_id": result["case_id"] is not None}

    assert [comparable(r) for r in answer["results"]] == [
        comparable(r) for r in documented["results"]
    ]
