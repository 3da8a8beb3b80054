"""Open311 GeoReport v2 under ``/open311/v2/``: the departments' own case systems read the cases
their organisation holds or held, report from their side, and move their tasks.

A protocol adapter, like the console: its views parse GeoReport parameters, call the same use
cases as the bearer-token API (the push, ``tasks.services.apply_event``, the case visibility
rule) and render the spec's JSON or XML documents.
"""
