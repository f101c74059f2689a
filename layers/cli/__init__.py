"""layers/cli."""
