"""The routing API's shapes: a stored rule set."""

from __future__ import annotations

import marshmallow as ma


class RuleSetSchema(ma.Schema):
    """A rule set in the shape of backend/routing/data/rules.toml, as JSON. Checked whole by
    ``validate_rule_set``, so every problem comes back at once as ``invalid_rule_set``."""

    class Meta:
        # Unknown keys stay in, so the validation names them instead of dropping them.
        unknown = ma.INCLUDE

    version = ma.fields.Raw(metadata={"type": "integer", "description": "Raise with every change"})
    fallback = ma.fields.Raw(metadata={"type": "object"})
    rule = ma.fields.Raw(metadata={"type": "array", "items": {"type": "object"}})
