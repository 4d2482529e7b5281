"""envs (see the project issues)."""
