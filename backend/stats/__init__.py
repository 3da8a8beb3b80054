"""Statistics: the daily aggregates, their refresh, and the weekly table and its export."""
