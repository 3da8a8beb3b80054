"""The phones' sync API: push (the ledger, placement and routing of items) and pull, over sync/."""
