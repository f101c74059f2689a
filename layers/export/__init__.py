"""layers/export."""
