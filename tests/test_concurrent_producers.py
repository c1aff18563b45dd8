"""Two and ten producers at once, with overlapping destinations: the lock holds, reports are true.

Every producer copies its *own* image (own blobs, own digests) to a tag all producers
write, a tag it shares with one other producer, and a tag of its own. Without the
per-destination lock, copies of different producers into one tag would run side by
side; with it they queue. The registry's access log shows which: a push into a
repository is its blob uploads and manifest PUTs, each naming a digest that belongs to
exactly one producer, closed by the PUT of the tag. A segment between two tag PUTs
holding digests of two producers is an interleaved push. The control test shows the
check catches exactly that when two unlocked ``skopeo copy`` run at once.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.celery_rig import Cluster, fresh_redis_db, skopeo_processes, wait_until
from tests.cli_run import Ran, authfile_for
from tests.reliability_rig import assert_exactly_once, running_cluster
from tests.reliability_stats import Figures, mapping_counts, record
from tests.rig.inspect import get_manifest, head_digest
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry, Request
from tests.rig.skopeo import copy_args
from tests.rig.slow_proxy import SlowProxy

pytestmark = [pytest.mark.celery, pytest.mark.registry]

SeedImage = Callable[..., str]
TAG = "v"
WRITES = frozenset({"PUT", "POST"})
_DIGEST = re.compile(r"sha256(?::|%3A)([0-9a-f]{64})", re.IGNORECASE)


# ---------------------------------------------------------------------- the observable


def image_digests(registry: Registry, repo: str, tag: str) -> set[str]:
    """Every digest a push of ``repo:tag`` names: index, manifests, configs and layers."""
    index = get_manifest(registry, repo, tag)
    found = {head_digest(registry, repo, tag) or ""}
    for entry in index["manifests"]:
        manifest = get_manifest(registry, repo, entry["digest"])
        found |= {entry["digest"], manifest["config"]["digest"]}
        found |= {layer["digest"] for layer in manifest["layers"]}
    return {d.split(":", 1)[1] for d in found if d}


def pushes_by_repository(requests: list[Request], prefix: str) -> dict[str, list[Request]]:
    """Requests under ``/v2/PREFIX…/``, grouped by repository."""
    grouped: dict[str, list[Request]] = {}
    for request in requests:
        found = re.match(rf"^/v2/({re.escape(prefix)}[^?]*?)/(blobs|manifests)/", request.path)
        if found:
            grouped.setdefault(found[1], []).append(request)
    return grouped


def push_segments(requests: list[Request], owners: dict[str, str]) -> list[set[str]]:
    """Owners of the digests written between consecutive PUTs of the tag, one set per push.

    Writes only: blob upload PUTs (``?digest=``), mounts (``?mount=``) and manifest PUTs.
    A ``HEAD`` of a blob is a read, and skopeo reads other repositories' blobs while
    pushing elsewhere (to mount them from there).
    """
    segments: list[set[str]] = []
    current: set[str] = set()
    for request in requests:
        if request.method in WRITES:
            current |= {owners[d] for d in _DIGEST.findall(request.path) if d in owners}
        if request.method == "PUT" and request.path.endswith(f"/manifests/{TAG}"):
            segments.append(current)
            current = set()
    return segments


def describe(requests: list[Request], owners: dict[str, str]) -> str:
    """The push sequence of one repository, one line per request, with owners."""
    lines = []
    for request in requests:
        named = sorted({owners.get(d, "?") for d in _DIGEST.findall(request.path)})
        path = re.sub(r"_state=[^&]*&?", "", request.path)
        lines.append(f"{request.method} {request.status} {path[-90:]} {','.join(named)}")
    return "\n".join(lines)


def interleaved(segments: list[set[str]]) -> list[set[str]]:
    return [owners for owners in segments if len(owners) > 1]


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    anon_registry: Registry,
    basic_registry: Registry,
) -> Iterator[Cluster]:
    """Two workers with two processes each: four copies can run at once."""
    workdir = tmp_path_factory.mktemp("producers")
    auth = authfile_for(workdir / "auth.json", [basic_registry])
    hosts = [anon_registry.host, basic_registry.host]
    with (
        fresh_redis_db(redis_server) as url,
        running_cluster(workdir, broker=url, auth=auth, insecure=hosts, workers=2) as started,
    ):
        yield started


@dataclass(frozen=True)
class Producer:
    """One producer's image and the three destinations it writes."""

    number: int
    source: str
    digest: str
    mappings: list[str]


def plan_producers(
    count: int, anon: Registry, basic: Registry, repo: str, seed: SeedImage
) -> list[Producer]:
    planned = []
    for number in range(count):
        source = f"{repo}/src-{number}"
        digest = seed(anon, source, TAG, name=source)
        destinations = ["shared", f"pair-{number // 2}", f"own-{number}"]
        mappings = [
            f"{anon.host}/{source}:{TAG}={basic.host}/{repo}/{d}:{TAG}" for d in destinations
        ]
        planned.append(Producer(number, source, digest, mappings))
    return planned


def check_report(ran: Ran, producer: Producer) -> dict[str, Any]:
    """Exit 0; three results in order; each synced with this producer's own digest."""
    assert ran.returncode == 0, ran.output
    report = ran.report
    assert report is not None and report["mode"] == "celery", ran.output
    assert_exactly_once(report, producer.mappings)
    for result in report["results"]:
        assert result["status"] == "synced", result
        assert result["source_digest"] == result["destination_digest"] == producer.digest
    return report


# ---------------------------------------------------------------------- tests


@pytest.mark.parametrize("count", [2, 10])
@pytest.mark.timeout(240)
def test_producers_at_once_never_interleave_pushes_into_one_tag(
    cluster: Cluster,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
    count: int,
) -> None:
    producers = plan_producers(count, anon_registry, basic_registry, unique_repo, seed_image)
    owners = {
        digest: f"p{p.number}"
        for p in producers
        for digest in image_digests(anon_registry, p.source, TAG)
    }
    mark = basic_registry.mark()

    started = [cluster.start_producer(p.mappings) for p in producers]
    runs = [process.wait(timeout=200) for process in started]

    reports = [check_report(ran, p) for ran, p in zip(runs, producers, strict=True)]
    assert len({r["run_id"] for r in reports}) == count
    final = head_digest(basic_registry, f"{unique_repo}/shared", TAG)
    assert final in {p.digest for p in producers}
    by_repo = pushes_by_repository(basic_registry.requests(mark), f"{unique_repo}/")
    writers = {"shared": count, **{f"pair-{i}": min(2, count - 2 * i) for i in range(count // 2)}}
    segments_seen = 0
    for name, expected in writers.items():
        segments = push_segments(by_repo[f"{unique_repo}/{name}"], owners)
        assert interleaved(segments) == [], describe(by_repo[f"{unique_repo}/{name}"], owners)
        assert len(segments) == expected and all(len(s) == 1 for s in segments), (name, segments)
        segments_seen += len(segments)
    lost = doubled = 0
    for ran, producer in zip(runs, producers, strict=True):
        expected_pairs = [(m.split("=")[0], m.split("=")[1]) for m in producer.mappings]
        missing, extra = mapping_counts(ran.report, expected_pairs)
        lost, doubled = lost + missing, doubled + extra
    record(
        Figures(
            f"concurrent producers ({count})",
            runs=count,
            mappings=3 * count,
            faults={"overlapping_pushes": segments_seen},
            lost=lost,
            double_counted=doubled,
        )
    )


@pytest.mark.timeout(120)
def test_the_interleaving_check_catches_two_unlocked_copies(
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    slow_proxy: Callable[..., SlowProxy],
    tmp_path: Path,
    unique_repo: str,
) -> None:
    """Control: two plain ``skopeo copy`` (no imgsync, no lock) into one tag interleave."""
    proxy = slow_proxy(anon_registry, delay_s=0.2)
    sources = [f"{unique_repo}/src-{i}" for i in range(2)]
    for source in sources:
        seed_image(anon_registry, source, TAG, name=source)
    owners = {d: s for s in sources for d in image_digests(anon_registry, s, TAG)}
    auth = authfile_for(tmp_path / "auth.json", [basic_registry])
    destination = f"docker://{basic_registry.host}/{unique_repo}/together:{TAG}"
    mark = basic_registry.mark()

    copies = [
        subprocess.Popen(
            copy_args(f"docker://{proxy.host}/{s}:{TAG}", destination, auth, None),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for s in sources
    ]
    for copy in copies:
        copy.wait(timeout=90)
    wait_until(lambda: not skopeo_processes(unique_repo), 10, "the copies to end")

    requests = pushes_by_repository(basic_registry.requests(mark), f"{unique_repo}/")
    segments = push_segments(requests[f"{unique_repo}/together"], owners)
    assert interleaved(segments) != [], segments
