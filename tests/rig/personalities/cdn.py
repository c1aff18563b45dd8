"""A second local server standing in for the CDN / object store blob GETs are redirected to.

Docker Hub (Cloudflare), GHCR, ECR and GAR answer a blob ``GET`` with ``307`` to a
signed URL on another host. The object store authenticates by the URL's signature and
refuses a request that also carries an ``Authorization`` header: S3 answers 400
``InvalidArgument`` "Only one auth mechanism allowed" (seen behind ECR in
open-policy-agent/opa#6580 and behind Harbor/S3 in renovatebot/renovate#3877). So a
client that forwards the registry's credentials across the redirect fails here, as
it would in production — and leaks nothing, because this server never relays them.

It listens on 127.0.0.1 but is addressed as ``localhost``: a different host name, so
every client's "same host?" test says no, whatever it compares (Go compared host:port
in older releases and host names only in newer ones).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from urllib.parse import urlencode

from .proxy import Exchange, Personality, Rule
from .wire import Response

CDN_HOSTNAME = "localhost"
_BLOB_PATH = re.compile(
    r"^/registry-v2/docker/registry/v2/blobs/sha256/[0-9a-f]{2}/(?P<hex>[0-9a-f]{64})/data$"
)
ONE_AUTH_ONLY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
    b"<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    b"Signature query string parameter or the Authorization header should be specified"
    b"</Message></Error>"
)


class CdnStandIn(Personality):
    """Serves ``/registry-v2/…/data?name=&verify=`` from the upstream's blob store."""

    name = "cdn"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._key = secrets.token_bytes(16)

    @property
    def url(self) -> str:
        return f"http://{CDN_HOSTNAME}:{self.port}"

    def signed_url(self, name: str, digest: str) -> str:
        """Where the registry sends a blob GET: path like Docker Hub's, signature in the query."""
        hexdigest = digest.removeprefix("sha256:")
        path = f"/registry-v2/docker/registry/v2/blobs/sha256/{hexdigest[:2]}/{hexdigest}/data"
        return (
            f"{self.url}{path}?{urlencode({'name': name, 'verify': self._sign(name, hexdigest)})}"
        )

    def _sign(self, name: str, hexdigest: str) -> str:
        return hmac.new(self._key, f"{name}@{hexdigest}".encode(), hashlib.sha256).hexdigest()[:32]

    @property
    def refused(self) -> int:
        """Requests turned away because they carried an ``Authorization`` header."""
        return sum(1 for s in self.stats.requests() if s.authorization and s.status == 400)

    def build_rules(self) -> Sequence[Rule]:
        return [
            Rule("refuse a second auth mechanism", on_request=_refuse_authorization),
            Rule("signed blob URL only", on_request=self._serve_signed),
        ]

    def _serve_signed(self, exchange: Exchange) -> Response | None:
        found = _BLOB_PATH.match(exchange.request.path)
        query = exchange.request.query
        name, verify = query.get("name", [""])[0], query.get("verify", [""])[0]
        if found is None or not hmac.compare_digest(verify, self._sign(name, found["hex"])):
            return Response.of(403, {"Content-Type": "text/plain"}, b"signature does not match\n")
        exchange.forward_target = f"/v2/{name}/blobs/sha256:{found['hex']}"
        return None


def _refuse_authorization(exchange: Exchange) -> Response | None:
    if "authorization" not in exchange.request.headers:
        return None
    return Response.of(400, {"Content-Type": "application/xml"}, ONE_AUTH_ONLY)
