"""Users: accounts and roles, API tokens, console sessions."""
