"""layers/present."""
