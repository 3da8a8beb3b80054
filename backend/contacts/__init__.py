"""Social-prevention contacts: the records, restricted reads with their audit log, aggregates."""
