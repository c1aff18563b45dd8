"""Failed results with every known secret masked before they leave the process.

A result's message can quote an exception's text (``unexpected ValueError: …``), and
that text may hold a token a library echoed. Results go to the console, the progress
line, the JSON report, Redis and notifications, none of which pass through the log
formatter, so they are masked where they are made: by the embedded runner and the
worker, with the same secret list the log formatter uses.
"""

from __future__ import annotations

from dataclasses import replace

from imgsync.adapters.log_redaction import KNOWN_SECRETS, SecretSet
from imgsync.core.result import SyncResult


def redacted(result: SyncResult, secrets: SecretSet = KNOWN_SECRETS) -> SyncResult:
    """``result`` with its error message masked (unchanged when it has no error)."""
    if result.error is None:
        return result
    message = secrets.redact(result.error.message)
    if message == result.error.message:
        return result
    return replace(result, error=replace(result.error, message=message))
