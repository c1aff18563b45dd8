"""What skopeo's stderr means: the one place a failed copy gets its category and its hint.

skopeo 1.9.3 exits 1 for every failure, so the category comes from its last
``level=fatal msg="..."`` line (:func:`classify_stderr`), and a hint naming the
registry, the repository and the next step is added where the text shows a known
registry answer (:func:`with_hint`): ECR's 404 ``NAME_UNKNOWN`` for a repository never
created, Harbor's 401 for a missing project, an expired ECR token, a spent pull quota,
an Accept-list 404, plain HTTP where TLS was tried.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from imgsync.core.missing_destination import push_hint, recognised
from imgsync.core.registry_profile import ECR, HARBOR
from imgsync.errors import Category

_FATAL = re.compile(r'level=fatal msg="((?:[^"\\]|\\.)*)"')
_ESCAPES = {"n": "\n", "t": "\t"}


def _rule(category: Category, *patterns: str) -> tuple[Category, re.Pattern[str]]:
    return category, re.compile("|".join(patterns), re.IGNORECASE)


#: First match wins, so the order is a decision:
#:
#: 1. rate_limited: a 429 is unambiguous, and Docker Hub's 429 body talks about
#:    "authenticating", which must not read as an auth failure.
#: 2. auth before not_found: registries that hide private repositories answer
#:    anonymous or wrong-credential requests with 401/403 bodies such as
#:    "denied: repository does not exist or may require authorization" or
#:    Harbor's "unauthorized: project not found". Credentials are what the user
#:    can fix; calling it not_found would send them hunting for a missing image.
#: 3. not_found, digest_mismatch: definite registry answers.
#: 4. unsupported before network: "server gave HTTP response to HTTPS client"
#:    and x509 errors are configuration problems (a plain-http or self-signed
#:    registry not listed as insecure); network is retryable and retrying them
#:    only burns time, so they are ``unsupported`` ("we cannot talk to it as
#:    configured") and the message gets a hint.
#: 5. network: transport failures and 5xx, worth retrying later.
#: "permission denied" is a local file error, not a registry denial.
RULES: tuple[tuple[Category, re.Pattern[str]], ...] = (
    _rule(
        Category.RATE_LIMITED,
        r"toomanyrequests",
        r"too many requests",
        r"status ?code:?\s*429\b",
        r"http status:?\s*429\b",
    ),
    # "manifest unknown: OCI artifact found, but accept header does not support …": the
    # image is there, in a type skopeo does not ask for; not a missing image.
    _rule(Category.UNSUPPORTED, r"accept header does not support"),
    _rule(
        Category.AUTH,
        r"unauthorized",
        r"authentication required",
        r"invalid username/password",
        r"(?<!permission )\bdenied\b",
        r"\bforbidden\b",
        r"status ?code:?\s*40[13]\b",
        r"http status:?\s*40[13]\b",
    ),
    _rule(
        Category.NOT_FOUND,
        r"manifest unknown",
        r"name unknown",
        r"not found",
        r"status ?code:?\s*404\b",
        r"http status:?\s*404\b",
    ),
    _rule(Category.DIGEST_MISMATCH, r"digests? did not match", r"digests? do(?:es)? not match"),
    _rule(
        Category.UNSUPPORTED,
        r"unsupported (?:media|manifest|mime) type",
        r"(?:invalid|unknown) media ?type",
        r"manifest invalid",
        r"unsupported schema version",  # skopeo 1.9.3 on a manifest media type it does not know
        r"server gave http response to https client",
        r"\bx509: ",
    ),
    _rule(
        Category.NETWORK,
        r"connection refused",
        r"no such host",
        r"i/o timeout",
        r"connection reset",
        r"\bEOF\b",
        r"tls handshake timeout",
        r"timeout awaiting response headers",
        r"network is unreachable",
        r"no route to host",
        r"temporary failure in name resolution",
        r"server misbehaving",
        r"broken pipe",
        r"status ?code:?\s*5\d\d\b",
        r"http status:?\s*5\d\d\b",
        # skopeo 1.9.3 writes "503 Service Unavailable" and "registry 503 (Service Unavailable)"
        r"\b5\d\d \(?(?:internal server error|bad gateway|service unavailable|gateway timeout)",
    ),
)

Hint = Callable[[re.Match[str]], str]


def _plain_http(found: re.Match[str]) -> str:
    host = found["host"] or "the registry"
    return (
        f"{host} speaks plain HTTP: add it to --insecure-registry {host} "
        "(IMGSYNC_INSECURE_REGISTRIES, or insecure: true under the sync file's registries:)"
    )


def _ecr_repository(found: re.Match[str]) -> str:
    return push_hint(ECR, found["name"])


def _harbor_project(found: re.Match[str]) -> str:
    return f"{push_hint(HARBOR, found['name'])}, and give the account push access to it"


def _push_refused(found: re.Match[str]) -> str:
    """A layer upload refused on a host whose profile says what must exist (ACR, TCR, SWR)."""
    profile = recognised(found["host"])
    if profile.must_exist:
        return f"{push_hint(profile, found['name'])}, or the account may not push to it"
    return (
        f"the registry refused a push to {found['name']}: check that the account may push "
        "there and that any namespace, project or organization it needs exists"
    )


def _manifest_refused(found: re.Match[str]) -> str:
    """A destination refused a manifest's type: the setting that converts it."""
    host = found["host"] or "HOST"
    return (
        f"{host} refused this manifest type: set manifest_format: docker (or oci) for {host} "
        "under the sync file's registries: to convert it (digests change; later runs still "
        "skip it by its record tag), or name the registry's profile (profile: swr, quay, zot)"
    )


def _fixed(text: str) -> Hint:
    return lambda _: text


#: First match wins; each hint names what to do, and the registry or repository when the
#: message shows them.
HINTS: tuple[tuple[re.Pattern[str], Hint], ...] = (
    (
        re.compile(
            r"https://(?P<host>[^/\"\s]+)/[^\n]*server gave http response to https client"
            r"|server gave http response to https client",
            re.IGNORECASE,
        ),
        _plain_http,
    ),
    (
        re.compile(
            r"repository with name '(?P<name>[^']+)' does not exist in the registry with id"
        ),
        _ecr_repository,
    ),
    (
        re.compile(r"unauthorized to access repository: (?P<name>[^,\s]+), action: push"),
        _harbor_project,
    ),
    (
        re.compile(
            r"initiating layer upload to /v2/(?P<name>\S+?)/blobs/uploads/ in "
            r"(?P<host>[^\s:]+(?::\d+)?): (?:denied|unauthorized)"
        ),
        _push_refused,
    ),
    (
        re.compile(
            r"uploading manifest \S+ to (?P<host>[^\s/]+)/\S+?: manifest invalid"
            r"|manifest list must be converted to type",
            re.IGNORECASE,
        ),
        _manifest_refused,
    ),
    (
        re.compile(r"token has expired", re.IGNORECASE),
        _fixed(
            "the registry credential has expired: refresh the credential "
            "(e.g. aws ecr get-login-password / the credential helper) and run again"
        ),
    ),
    (
        re.compile(r"toomanyrequests|too many requests|status ?code:?\s*429\b", re.IGNORECASE),
        _fixed(
            "the pull quota is spent: wait for the registry's window, authenticate "
            "(DOCKERHUB_USERNAME/DOCKERHUB_TOKEN) or add accounts (DOCKERHUB_ACCOUNTS)"
        ),
    ),
    (
        re.compile(r"accept header does not support", re.IGNORECASE),
        _fixed(
            "the registry holds this image in a manifest type skopeo does not request "
            "(e.g. an OCI artifact manifest): it cannot be copied with skopeo"
        ),
    ),
    (
        re.compile(r"unsupported schema version"),
        _fixed("a manifest media type skopeo cannot copy (not image or index)"),
    ),
    (
        re.compile(r"x509: "),
        _fixed("TLS certificate not trusted: fix the certificate or list the registry as insecure"),
    ),
)


def fatal_message(stderr: str) -> str:
    """The last ``level=fatal msg="..."`` text, unquoted; else the last non-empty line."""
    found = _FATAL.findall(stderr)
    if found:
        text = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), found[-1])
        return " ".join(text.split())
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _match(text: str) -> Category | None:
    return next((category for category, pattern in RULES if pattern.search(text)), None)


def classify_stderr(text: str) -> Category:
    """The :class:`Category` of skopeo's stderr; pure and table-driven (:data:`RULES`).

    The final fatal message decides; earlier lines (retry warnings about
    other errors) are consulted only when it matches nothing.
    """
    return _match(fatal_message(text)) or _match(text) or Category.OTHER


def with_hint(message: str) -> str:
    """``message`` with the first matching hint of :data:`HINTS` appended."""
    for pattern, hint in HINTS:
        found = pattern.search(message)
        if found is not None:
            return f"{message} (hint: {hint(found)})"
    return message
