"""The offline batch protocol as a library (no Flask): envelope, clock, dedup, cells, the client."""
