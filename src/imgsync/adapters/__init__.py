"""All I/O: registry HTTP, credentials, skopeo, notifications. Never imports celery or click."""
