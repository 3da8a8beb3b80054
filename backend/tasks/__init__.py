"""Tasks: the work an organisation does on a case, and the department workflow that moves it."""
