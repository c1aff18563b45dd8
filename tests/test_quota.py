"""Pull quotas against a registry that meters them: deferral, several accounts, dry-run estimate.

The source registry sits behind :class:`tests.rig.ratelimit_proxy.RateLimitProxy`,
which counts manifest GETs per account and answers with Docker Hub's headers;
imgsync runs as the real command with a sync file, like users run it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.inspect import head_digest
from tests.rig.ratelimit_proxy import RateLimitProxy
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry
SeedImage = Callable[..., str]
REPORT_SCHEMA = json.loads((Path(__file__).parent / "data" / "report.schema.json").read_text())
BUDGET, MINIMUM, IMAGES = 20, 5, 50
ACCOUNTS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw"}
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
AMD64 = ("linux", "amd64", None)


@pytest.fixture
def proxy(anon_registry: Registry) -> Iterator[RateLimitProxy]:
    started = RateLimitProxy(anon_registry.host, ACCOUNTS, limit=BUDGET).start()
    yield started
    started.stop()


def tag_many(registry: Registry, repo: str, source_tag: str, count: int) -> list[str]:
    """Point ``count`` tags at the manifest of ``source_tag`` (PUT of the same bytes)."""
    url = f"{registry.url}/v2/{repo}/manifests"
    body = requests.get(f"{url}/{source_tag}", headers={"Accept": MANIFEST}, timeout=10).content
    tags = [f"t{i:02d}" for i in range(count)]
    for tag in tags:
        put = requests.put(
            f"{url}/{tag}", data=body, headers={"Content-Type": MANIFEST}, timeout=10
        )
        put.raise_for_status()
    return tags


def write_config(
    tmp_path: Path, proxy: RateLimitProxy, basic: Registry, images: list[dict[str, Any]], users: int
) -> Path:
    accounts = [
        {"username_env": f"ACCOUNT{i}_USER", "password_env": f"ACCOUNT{i}_PW"} for i in range(users)
    ]
    registries = {
        proxy.host: {"insecure": True, "rate_limit_min": MINIMUM, "accounts": accounts},
        basic.host: {"insecure": True, "username_env": "DST_USER", "password_env": "DST_PW"},
    }
    path = tmp_path / "sync.yaml"
    path.write_text(json.dumps({"registries": registries, "images": images}))
    return path


def run_sync(tmp_path: Path, basic: Registry, config: Path, *args: str) -> Ran:
    user, password = basic.credentials or ("", "")
    env = base_env(tmp_path, DST_USER=user, DST_PW=password)
    for i, (name, secret) in enumerate(ACCOUNTS.items()):
        env |= {f"ACCOUNT{i}_USER": name, f"ACCOUNT{i}_PW": secret}
    report = tmp_path / "report.json"
    report.unlink(missing_ok=True)
    ran = run_imgsync(["sync", "--config", str(config), *args], env, report=report, timeout=600)
    assert ran.report is not None, ran.output
    jsonschema.validate(ran.report, REPORT_SCHEMA)
    return ran


def statuses(ran: Ran) -> dict[str, int]:
    assert ran.report is not None
    found: dict[str, int] = {}
    for result in ran.report["results"]:
        found[result["status"]] = found.get(result["status"], 0) + 1
    return found


def quota_of(ran: Ran, host: str) -> dict[str, Any]:
    assert ran.report is not None
    (found,) = [q for q in ran.report["quota"] if q["registry"] == host]
    return dict(found)


def fifty_tags(anon: Registry, seed_image: SeedImage, repo: str) -> list[str]:
    seed_image(anon, repo, "base", platforms=[AMD64], single=True)
    return tag_many(anon, repo, "base", IMAGES)


def test_a_budget_of_20_pulls_copies_what_fits_and_defers_the_rest(
    tmp_path: Path,
    proxy: RateLimitProxy,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    tags = fifty_tags(anon_registry, seed_image, unique_repo)
    image = {
        "source": f"{proxy.host}/{unique_repo}",
        "tags": tags,
        "destinations": f"{basic_registry.host}/mirror/{unique_repo}",
    }
    config = write_config(tmp_path, proxy, basic_registry, [image], users=1)

    ran = run_sync(tmp_path, basic_registry, config)

    fits = BUDGET - MINIMUM
    assert ran.returncode == 0, ran.output
    assert statuses(ran) == {"synced": fits, "deferred": IMAGES - fits}
    assert ran.report is not None and ran.report["summary"]["deferred"] == IMAGES - fits
    assert proxy.remaining("alice") == MINIMUM and proxy.rejected["alice"] == 0
    assert quota_of(ran, proxy.host) | {"accounts": None} == {
        "registry": proxy.host,
        "used": fits,
        "needed": 0,
        "remaining": MINIMUM,
        "limit": BUDGET,
        "accounts": None,
    }
    deferred = [r for r in ran.report["results"] if r["status"] == "deferred"]
    assert all(r["error"]["category"] == "rate_limited" for r in deferred)
    assert all(
        head_digest(basic_registry, f"mirror/{unique_repo}", r["destination"].rsplit(":", 1)[1])
        is None
        for r in deferred[:3]
    )
    assert (
        "⏳" in ran.stdout
        and f"📊 {proxy.host} 拉取：本次 {fits}，剩余 {MINIMUM}/{BUDGET}" in ran.stdout
    )
    assert "alice-secret-pw" not in ran.output


def test_a_spent_quota_defers_without_spending_and_sets_the_chosen_exit_code(
    tmp_path: Path,
    proxy: RateLimitProxy,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    tags = fifty_tags(anon_registry, seed_image, unique_repo)[:BUDGET]
    image = {
        "source": f"{proxy.host}/{unique_repo}",
        "tags": tags,
        "destinations": f"{basic_registry.host}/mirror/{unique_repo}",
    }
    config = write_config(tmp_path, proxy, basic_registry, [image], users=1)
    assert run_sync(tmp_path, basic_registry, config).returncode == 0

    again = run_sync(tmp_path, basic_registry, config, "--deferred-exit-code", "3")

    fits = BUDGET - MINIMUM
    assert again.returncode == 3, again.output
    assert statuses(again) == {"skipped": fits, "deferred": BUDGET - fits}
    assert proxy.remaining("alice") == MINIMUM and proxy.rejected["alice"] == 0


def test_two_accounts_finish_more_and_each_keeps_its_minimum(
    tmp_path: Path,
    proxy: RateLimitProxy,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    tags = fifty_tags(anon_registry, seed_image, unique_repo)
    image = {
        "source": f"{proxy.host}/{unique_repo}",
        "tags": tags,
        "destinations": f"{basic_registry.host}/mirror/{unique_repo}",
    }
    config = write_config(tmp_path, proxy, basic_registry, [image], users=2)

    ran = run_sync(tmp_path, basic_registry, config)

    fits = 2 * (BUDGET - MINIMUM)
    assert ran.returncode == 0, ran.output
    assert statuses(ran) == {"synced": fits, "deferred": IMAGES - fits}
    for user in ACCOUNTS:
        assert proxy.remaining(user) == MINIMUM and proxy.rejected[user] == 0
    quota = quota_of(ran, proxy.host)
    assert (quota["used"], quota["remaining"], quota["limit"]) == (fits, 2 * MINIMUM, 2 * BUDGET)
    assert sorted(a["account"] for a in quota["accounts"]) == sorted(ACCOUNTS)
    assert not any(secret in ran.output for secret in ACCOUNTS.values())


def test_dry_run_estimates_one_pull_per_manifest_plus_one_per_index(
    tmp_path: Path,
    proxy: RateLimitProxy,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "multi")
    seed_image(anon_registry, unique_repo, "single", platforms=[AMD64], single=True, name="other")
    images = [
        {
            "source": f"{proxy.host}/{unique_repo}",
            "tags": ["multi", "single"],
            "destinations": f"{basic_registry.host}/mirror/{unique_repo}",
        }
    ]
    config = write_config(tmp_path, proxy, basic_registry, images, users=1)

    ran = run_sync(tmp_path, basic_registry, config, "--dry-run")

    assert ran.returncode == 0, ran.output
    pulls = {r["destination"].rsplit(":", 1)[1]: r["pulls"] for r in ran.report["results"]}
    assert pulls == {"multi": 1 + 3, "single": 1}
    assert quota_of(ran, proxy.host)["needed"] == 5
    assert proxy.pulls["alice"] == 1  # the index was read once to count its platforms
    assert head_digest(basic_registry, f"mirror/{unique_repo}", "multi") is None
