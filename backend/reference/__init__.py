"""Reference data: the categories and zones loaded from the files in reference/data."""
