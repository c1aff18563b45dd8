"""Tag lists (with ``Link`` pagination), manifest GET/PUT/DELETE, and items as task messages.

docker-registry 2.8 ignores ``n=`` on tag lists and never paginates, while Docker
Hub and others do; a small stdlib server plays a paginating registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from imgsync.adapters.credentials import Credential, CredentialStore
from imgsync.adapters.registry import RegistryClient
from imgsync.adapters.registry_api import ManifestPool, list_tags
from imgsync.core.codec import decode, decode_json
from imgsync.core.item import SyncItem
from imgsync.core.platforms import Platform
from imgsync.core.reference import ImageReference
from imgsync.errors import DecodeError, NotFound
from tests.rig.registry import Registry

ALL_TAGS = [f"t{i:03d}" for i in range(25)]


class _Pages(BaseHTTPRequestHandler):
    """Serves ALL_TAGS ``n`` at a time after ``last``, with a relative ``Link`` to the next page."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        type(self).seen.append(self.path)
        if url.path != "/v2/lib/app/tags/list":
            self._send(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "unknown"}]})
            return
        query = parse_qs(url.query)
        size, last = int(query.get("n", ["10"])[0]), query.get("last", [""])[0]
        rest = [tag for tag in ALL_TAGS if tag > last]
        page, more = rest[:size], len(rest) > size
        headers = {"Link": f'</v2/lib/app/tags/list?n={size}&last={page[-1]}>; rel="next"'}
        self._send(200, {"name": "lib/app", "tags": page}, headers if more else {})

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def paginating() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    Thread(target=server.serve_forever, daemon=True).start()
    _Pages.seen = []
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_tag_list_follows_link_pages(paginating: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("imgsync.adapters.registry_api.PAGE_SIZE", 10)
    client = RegistryClient(paginating, insecure=True)
    try:
        assert list_tags(client, ImageReference(paginating, "lib/app")) == ALL_TAGS
    finally:
        client.close()
    assert _Pages.seen == [
        "/v2/lib/app/tags/list?n=10",
        "/v2/lib/app/tags/list?n=10&last=t009",
        "/v2/lib/app/tags/list?n=10&last=t019",
    ]


def test_tag_list_of_a_missing_repository_is_not_found(paginating: str) -> None:
    client = RegistryClient(paginating, insecure=True)
    with pytest.raises(NotFound, match=r"tag list of .*/nope: not found"):
        list_tags(client, ImageReference(paginating, "nope"))
    client.close()


def test_manifest_pool_lists_reads_and_deletes_on_a_real_registry(
    basic_registry: Registry, seed_image: Any, unique_repo: str
) -> None:
    digest = seed_image(basic_registry, unique_repo, "a")
    seed_image(basic_registry, unique_repo, "b", version="2")
    user, password = basic_registry.credentials or ("", "")
    store = CredentialStore().with_overrides({basic_registry.host: Credential(user, password)})
    repository = ImageReference(basic_registry.host, unique_repo)
    with ManifestPool(store, insecure=[basic_registry.host]) as pool:
        assert sorted(pool.list_tags(repository)) == ["a", "b"]
        manifest = pool.get_manifest(repository.with_tag("a"))
        assert manifest is not None and manifest.digest == digest and manifest.is_index
        assert pool.get_manifest(repository.with_tag("absent")) is None
        assert pool.delete_manifest(repository, digest) is True
        assert pool.delete_manifest(repository, digest) is False
        assert pool.list_tags(repository) == ["b"]


# ------------------------------------------------------------------ items as task messages

PLAIN = {"source": "docker.io/library/nginx:1.25", "destination": "r.example.com/m/nginx:1.25"}


def test_plain_item_message_is_unchanged() -> None:
    item = decode(SyncItem, PLAIN)
    assert item.platforms is None and item.immutable is False
    assert item.to_dict() == PLAIN


def test_item_options_round_trip_as_plain_json() -> None:
    message = {**PLAIN, "platforms": ["linux/amd64", "linux/arm/v7"], "immutable": True}
    item = decode_json(SyncItem, json.dumps(message))
    assert item.platforms == (Platform("linux", "amd64"), Platform("linux", "arm", "v7"))
    assert item.immutable is True
    assert item.to_dict() == message


@pytest.mark.parametrize(
    "extra",
    [
        {"platforms": []},
        {"platforms": "linux/amd64"},
        {"platforms": ["linux"]},
        {"immutable": "yes"},
    ],
)
def test_malformed_item_options_are_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        decode(SyncItem, {**PLAIN, **extra})
