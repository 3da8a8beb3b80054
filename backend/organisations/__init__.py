"""Organisations: the departments and partners tasks are routed to, and their delivery channel."""
