"""Destination personalities through the real ``imgsync``: flat names land and skip; depth checked.

ACR Personal, Quay, SWR and zot as destinations (tests/rig/personalities): a bare
two-level source under ``--dest-prefix HOST/mirror`` with ``--dest-template flat:_``
lands at ``mirror/<a>_<b>`` and the re-run skips; where the profile allows two levels
only (ACR, Quay), the default ``path`` layout fails ``validate`` with exit 2 before
any request reaches the registry. The personalities listen on ``127.0.0.1``, so the
sync file names each profile (``registries: {HOST: {profile}}``). The OCI source is
copied as SWR's and zot's profiles want: SWR converts it, zot keeps it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.proxy import Personality
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry


@dataclass(frozen=True)
class Destination:
    personality: str
    profile: str
    account: tuple[str, str] | None = None
    options: tuple[tuple[str, object], ...] = ()
    converted: bool = False


DESTINATIONS = {
    "acr": Destination("acr", "acr-personal", ("acr-user", "pw"), (("namespaces", ["mirror"]),)),
    "quay": Destination("quay", "quay"),
    "swr": Destination(
        "swr", "swr", ("cn-north-4@AK", "key"), (("organizations", ["mirror"]),), converted=True
    ),
    "zot": Destination("zot", "zot"),
}


def start(personality: PersonalityFactory, case: Destination) -> Personality:
    options = dict(case.options)
    if case.account:
        options["accounts"] = dict([case.account])
    return personality(case.personality, **options)


def run(
    tmp_path: Path,
    anon: Registry,
    dest: Personality,
    case: Destination,
    args: list[str],
    source: str,
) -> Ran:
    """``imgsync ARGS --config F``: F has ``source`` as a bare entry and the profile."""
    config = tmp_path / "sync.yaml"
    registries = {dest.host: {"profile": case.profile, "insecure": True}}
    config.write_text(json.dumps({"registries": registries, "images": [{"source": source}]}))
    auths = {dest.host: case.account} if case.account else {}
    env = base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(write_auths(tmp_path / "auth.json", auths)),
        IMGSYNC_INSECURE_REGISTRIES=f"{anon.host},{dest.host}",
        IMGSYNC_MAX_RETRIES="0",
    )
    report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.json"
    report = report if args[0] == "sync" else None
    return run_imgsync([*args, "--config", str(config)], env, report=report)


@pytest.mark.parametrize("name", sorted(DESTINATIONS))
def test_a_flattening_template_lands_at_the_flat_name_and_the_rerun_skips(
    name: str,
    personality: PersonalityFactory,
    anon_registry: Registry,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    case = DESTINATIONS[name]
    dest = start(personality, case)
    seed(anon_registry, unique_repo, "v1", tmp_path=tmp_path)
    source = f"{anon_registry.host}/{unique_repo}:v1"
    args = ["sync", "--dest-prefix", f"{dest.host}/mirror", "--dest-template", "flat:_"]
    first = run(tmp_path, anon_registry, dest, case, args, source)
    assert first.report is not None, first.stderr
    [result] = first.report["results"]
    flat = f"mirror/{unique_repo.replace('/', '_')}"
    assert result["destination"] == f"{dest.host}/{flat}:v1"
    assert (result["status"], result.get("converted", False)) == ("synced", case.converted), result
    assert dest.upstream_has(flat)
    again = run(tmp_path, anon_registry, dest, case, args, source)
    assert again.report is not None and again.report["results"][0]["status"] == "skipped"


@pytest.mark.parametrize("name", ["acr", "quay"])
def test_a_path_too_deep_fails_validate_with_exit_2_and_no_request(
    name: str,
    personality: PersonalityFactory,
    anon_registry: Registry,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    case = DESTINATIONS[name]
    dest = start(personality, case)
    source = f"{anon_registry.host}/{unique_repo}:v1"
    ran = run(
        tmp_path,
        anon_registry,
        dest,
        case,
        ["validate", source, "--dest-prefix", f"{dest.host}/mirror"],
        "v",
    )
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "namespace/repository only" in ran.stderr and "flat:_" in ran.stderr
    assert dest.stats.seen == []
