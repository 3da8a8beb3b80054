"""Presence: the field workers' shift and zone events, their daily logs, summaries and exports."""
