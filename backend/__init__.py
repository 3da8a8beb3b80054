"""Samverkan Field: the Flask service."""
