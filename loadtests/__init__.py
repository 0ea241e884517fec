"""Locust scenarios for the reference API and the sync window; run them from the repository root."""
