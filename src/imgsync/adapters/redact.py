"""Keep secrets out of everything a user or a log file can see.

Adapters hold API keys, tokens and passwords; exception texts from ``requests``
or a library may echo them back (in a URL, a body, a repr). Every text that
leaves an adapter as a detail, an error message or a log line goes through
:func:`redact` first, with the secrets that adapter knows about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"

_HOSTNAME = re.compile(r"^(localhost|[\w-]+(\.[\w-]+)+)$")


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each secret, also URL-encoded, with ``***``."""
    return mask_forms(text, secret_forms(secrets))


def secret_forms(secrets: Iterable[str | None]) -> tuple[str, ...]:
    """Every form of every secret, longest first, so one containing another is masked whole.

    Worth computing once for text masked over and over (each log record).
    """
    forms = {form for secret in secrets if secret for form in _encodings(secret)}
    return tuple(sorted(forms, key=len, reverse=True))


def mask_forms(text: str, forms: Iterable[str]) -> str:
    """``text`` with each of ``forms`` (from :func:`secret_forms`) replaced by ``***``."""
    for form in forms:
        text = text.replace(form, MASK)
    return text


def _encodings(secret: str) -> set[str]:
    """The ways a secret shows up in URLs and exception texts.

    A URL secret (a broker URL, an Apprise URL) brings its password too: a library
    may quote the password alone, as it was written or decoded.
    """
    found = {secret, quote(secret, safe=""), quote_plus(secret)}
    password = _url_password(secret)
    return found | {password, unquote(password)} if password else found


def _url_password(text: str) -> str:
    if "://" not in text:
        return ""
    try:
        return urlsplit(text).password or ""
    except ValueError:
        return ""


def redact_url(url: str) -> str:
    """Show a URL as ``scheme://host`` only: paths, users and queries often hold tokens.

    Some URL schemes (Apprise's ``tgram://TOKEN/...``) put the token where the
    host would be, so a "host" that does not look like a host name is masked too.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return MASK
    if not parts.scheme:
        return MASK
    shown = host if _HOSTNAME.match(host) else MASK
    return f"{parts.scheme}://{shown}"
