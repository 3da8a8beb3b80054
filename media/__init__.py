"""The photo pipeline as a library (no Flask): validate, sanitise, thumbnails, phash, storage."""
