"""The pull feed: the ordered changes each phone's pull reads, and the streams that number them."""
