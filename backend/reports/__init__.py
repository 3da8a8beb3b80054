"""Reports: what the phones report about a place (litter, damage) and the photos they list."""
