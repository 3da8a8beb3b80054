"""Retention: deleting records past their period, logged per run, and the nightly job."""
