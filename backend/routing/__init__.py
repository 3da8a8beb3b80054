"""Routing: which organisation a case's task goes to, under the admins' rule sets."""
