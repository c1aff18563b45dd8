"""One HTTP stack, one process: N manifest HEADs at C in flight, timed with the process's CPU.

``python -m bench.http_clients --stack NAME --targets FILE --n N`` prints one JSON line.
Every stack runs in a process of its own so that its peak RSS (``VmHWM``) is its own and
imports of the other stacks cost it nothing. CPU is ``time.process_time`` (user + system,
every thread) around the request loop only; :mod:`bench.http_stacks` runs two Ns and takes
the difference, which cancels interpreter start-up, imports and connection set-up.

Every request carries the ``Accept`` list imgsync sends (:data:`ACCEPT`) and must answer
200 with the digest seeded, so a stack that skipped work would show as failures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import ssl
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import Any

from bench.rss_launch import peak_rss_kb

#: imgsync's list (``adapters/registry.py``), copied so no stack pays for importing imgsync.
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.artifact.manifest.v1+json",
    )
)
DIGEST = "docker-content-digest"
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Job:
    """What to request: ``n`` HEADs over ``targets`` (url, digest), ``concurrency`` at once."""

    targets: tuple[tuple[str, str], ...]
    n: int
    concurrency: int
    ca: str

    def requests(self) -> list[tuple[str, str]]:
        return list(islice(cycle(self.targets), self.n))

    def context(self) -> ssl.SSLContext:
        """One verifying context for the whole run, as imgsync builds it (parsed once)."""
        return ssl.create_default_context(cafile=self.ca)


Loop = Callable[[Job], int]  # returns how many answers were 200 with the expected digest


def _threaded(job: Job, one: Callable[[str, str], bool]) -> int:
    with ThreadPoolExecutor(job.concurrency) as pool:
        return sum(pool.map(lambda t: one(*t), job.requests()))


def run_requests(job: Job) -> int:
    """requests as imgsync used it until it moved to pycurl: no per-request environment scan
    (``trust_env`` off), the CA bundle parsed once into one SSLContext, threads."""
    import requests

    context = job.context()

    class PreloadedTrust(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = context
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    session.trust_env = False
    session.mount("https://", PreloadedTrust(pool_maxsize=job.concurrency, max_retries=0))
    headers = {"Accept": ACCEPT}

    def one(url: str, digest: str) -> bool:
        r = session.head(url, headers=headers, timeout=TIMEOUT_S)
        return r.status_code == 200 and r.headers.get(DIGEST) == digest

    return _threaded(job, one)


def run_imgsync_http(job: Job) -> int:
    """imgsync's HttpClient (adapters/http_client.py: pycurl, a handle per thread) alone."""
    from imgsync.adapters.http_client import HttpClient

    client, headers = HttpClient(), {"Accept": ACCEPT}

    def one(url: str, digest: str) -> bool:
        r = client.request("HEAD", url, headers=headers, timeout=TIMEOUT_S)
        return r.status_code == 200 and r.headers.get(DIGEST) == digest

    return _threaded(job, one)


def run_requests_default(job: Job) -> int:
    """A plain ``requests.Session`` as most code uses it: environment and CA file per request."""
    import requests

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=job.concurrency, max_retries=0)
    session.mount("https://", adapter)
    headers = {"Accept": ACCEPT}

    def one(url: str, digest: str) -> bool:
        r = session.head(url, headers=headers, timeout=TIMEOUT_S)
        return r.status_code == 200 and r.headers.get(DIGEST) == digest

    return _threaded(job, one)


def run_imgsync_client(job: Job) -> int:
    """imgsync's whole RegistryClient.head_digest (auth, retries, quirks, its HttpClient)."""
    from imgsync.adapters.registry import RegistryClient
    from imgsync.core.refparse import parse_reference

    host = job.targets[0][0].split("/")[2]
    client = RegistryClient(host)

    def one(url: str, digest: str) -> bool:
        repo = url.split("/v2/", 1)[1].split("/manifests/", 1)[0]
        return client.head_digest(parse_reference(f"{host}/{repo}:latest")) == digest

    return _threaded(job, one)


def run_urllib3(job: Job) -> int:
    """requests' own engine without requests: one PoolManager, threads."""
    import urllib3

    pool = urllib3.PoolManager(maxsize=job.concurrency, ssl_context=job.context(), retries=False)
    headers = {"Accept": ACCEPT}

    def one(url: str, digest: str) -> bool:
        r = pool.request("HEAD", url, headers=headers, redirect=False, timeout=TIMEOUT_S)
        return r.status == 200 and r.headers.get(DIGEST) == digest

    return _threaded(job, one)


async def _workers(job: Job, one: Callable[[str, str], Any]) -> int:
    """``concurrency`` coroutines draining one iterator: no task per request."""
    pending: Iterator[tuple[str, str]] = iter(job.requests())

    async def worker() -> int:
        return sum([bool(await one(url, digest)) for url, digest in pending])

    return sum(await asyncio.gather(*(worker() for _ in range(job.concurrency))))


def run_aiohttp(job: Job) -> int:
    import aiohttp

    async def main() -> int:
        connector = aiohttp.TCPConnector(limit=job.concurrency, ssl=job.context())
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(url: str, digest: str) -> bool:
                async with session.head(url, headers={"Accept": ACCEPT}) as r:
                    return r.status == 200 and r.headers.get(DIGEST) == digest

            return await _workers(job, one)

    return asyncio.run(main())


def run_httpx(job: Job) -> int:
    import httpx

    async def main() -> int:
        limits = httpx.Limits(max_connections=job.concurrency)
        async with httpx.AsyncClient(verify=job.context(), limits=limits) as client:

            async def one(url: str, digest: str) -> bool:
                r = await client.head(url, headers={"Accept": ACCEPT}, timeout=TIMEOUT_S)
                return r.status_code == 200 and r.headers.get(DIGEST) == digest

            return await _workers(job, one)

    return asyncio.run(main())


def run_pycurl(job: Job) -> int:
    """libcurl's multi interface: one thread, ``concurrency`` easy handles reused."""
    import pycurl

    multi, pending = pycurl.CurlMulti(), iter(job.requests())
    free = [_easy(pycurl, job.ca) for _ in range(job.concurrency)]
    ok = active = 0
    while True:
        while free and (target := next(pending, None)) is not None:
            handle = free.pop()
            handle.want, handle.seen = target[1], {}
            handle.setopt(pycurl.URL, target[0])
            multi.add_handle(handle)
            active += 1
        if not active:
            return ok
        while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        finished = _finished(multi)
        for handle in finished:
            good = handle.getinfo(pycurl.RESPONSE_CODE) == 200
            ok += good and handle.seen.get(DIGEST) == handle.want
            multi.remove_handle(handle)
            free.append(handle)
        active -= len(finished)
        if not finished:
            multi.select(max(multi.timeout(), 1) / 1000 if multi.timeout() >= 0 else 1.0)


def _finished(multi: Any) -> list[Any]:
    """Every handle libcurl reports done (successfully or not) since the last call."""
    found: list[Any] = []
    while True:
        queued, done, failed = multi.info_read()
        found += [*done, *(f[0] for f in failed)]
        if not queued:
            return found


def run_pycurl_threads(job: Job) -> int:
    """libcurl as a drop-in for today's threads: one easy handle (and connection) per thread."""
    import threading

    import pycurl

    local = threading.local()

    def one(url: str, digest: str) -> bool:
        handle = getattr(local, "handle", None) or _easy(pycurl, job.ca)
        local.handle, handle.seen = handle, {}
        handle.setopt(pycurl.URL, url)
        handle.perform()  # releases the GIL while it waits
        good = handle.getinfo(pycurl.RESPONSE_CODE) == 200
        return bool(good and handle.seen.get(DIGEST) == digest)

    return _threaded(job, one)


def _easy(pycurl: Any, ca: str) -> Any:
    handle = pycurl.Curl()
    handle.seen = {}

    def header(line: bytes) -> None:
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            handle.seen[name.strip().lower()] = value.strip()

    handle.setopt(pycurl.NOBODY, 1)
    handle.setopt(pycurl.CAINFO, ca)
    handle.setopt(pycurl.HTTPHEADER, [f"Accept: {ACCEPT}"])
    handle.setopt(pycurl.HEADERFUNCTION, header)
    handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    handle.setopt(pycurl.TIMEOUT, int(TIMEOUT_S))
    return handle


#: stack name -> (modules it imports, the first one the stack itself; its loop)
STACKS: dict[str, tuple[tuple[str, ...], Loop]] = {
    "requests": (("requests", "requests.adapters"), run_requests),
    "requests-default": (("requests", "requests.adapters"), run_requests_default),
    "imgsync-http": (("pycurl", "imgsync.adapters.http_client"), run_imgsync_http),
    "imgsync-client": (("pycurl", "imgsync.adapters.registry"), run_imgsync_client),
    "urllib3": (("urllib3",), run_urllib3),
    "aiohttp": (("aiohttp",), run_aiohttp),
    "httpx": (("httpx",), run_httpx),
    "pycurl": (("pycurl",), run_pycurl),
    "pycurl-threads": (("pycurl",), run_pycurl_threads),
}


def measure(stack: str, job: Job) -> dict[str, Any]:
    """Import the stack, then run the loop once; CPU and wall around the loop only.

    Start-up and imports stay outside the timed part; building the client and its
    connections is inside, the same for every N, so the difference of two Ns cancels it.
    """
    modules, loop = STACKS[stack]
    started = time.perf_counter()
    for module in modules:
        importlib.import_module(module)
    imported = time.perf_counter()
    cpu, wall = time.process_time(), time.perf_counter()
    ok = loop(job)
    cpu_s, wall_s = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "stack": stack, "n": job.n, "ok": ok, "cpu_s": cpu_s, "wall_s": wall_s,
        "import_s": imported - started, "maxrss_kb": peak_rss_kb(),
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.http_clients", description=__doc__)
    p.add_argument("--stack", required=True, choices=sorted(STACKS))
    p.add_argument("--targets", required=True, type=Path, help="JSON [[url, digest], ...]")
    p.add_argument("--n", required=True, type=int)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--ca", required=True)
    args = p.parse_args(argv)
    targets = tuple((u, d) for u, d in json.loads(args.targets.read_text()))
    job = Job(targets, args.n, args.concurrency, args.ca)
    print(json.dumps(measure(args.stack, job)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
