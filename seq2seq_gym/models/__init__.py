"""models (see the project issues)."""
