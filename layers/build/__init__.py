"""layers/build."""
