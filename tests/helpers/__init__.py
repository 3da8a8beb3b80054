"""Helpers the tests and the benchmarks share: servers started from the machine's binaries
(PostgreSQL, Redis, S3, gunicorn), push items and batches, tasks, photos, hostile inputs,
console pages. Importable as ``tests.helpers.*`` from the repository root (benchmarks run as
``python -m benchmarks.NAME``), so nothing edits ``sys.path``."""
