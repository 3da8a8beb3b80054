"""Delivering tasks to organisations: the outbox rows, the relay, the channels, the RQ job."""
