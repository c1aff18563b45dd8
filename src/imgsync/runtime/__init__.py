"""Wiring shared by the embedded runner and the Celery workers: settings → adapters."""
