"""The OneMap domain: schema, demo province, ingest, metrics, the three layers, store and CLI."""

__version__ = "0.1.0"
