"""rewards (see the project issues)."""
