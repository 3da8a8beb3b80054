"""Cases: the place-and-category groups reports join, placement, visibility, corrections."""
