"""layers/ingest."""
