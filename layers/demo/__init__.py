"""layers/demo."""
