"""Every registry personality as a source: a real ``imgsync sync`` copies, and the re-run skips.

Where the registry meters pulls (Docker Hub), the re-run makes no manifest GET at all.
Quay's tag list comes 50 per page with ``Link``: a sync file's tag filter sees every tag.
The failure modes per registry are in tests/test_registry_personalities_sync.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.personalities.ecr import Ecr
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.proxy import Personality
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry

REPO = "pcs/app"

#: personality name → the options that let an anonymous caller pull ``REPO``.
ANONYMOUS: dict[str, dict[str, Any]] = {
    "dockerhub": {},
    "ghcr": {},
    "gar": {"public": [REPO]},
    "harbor": {"projects": ["pcs"], "public": ["pcs"]},
    "quay": {},
    "nexus": {},
    "artifactory": {},
    "azure": {},
    "gitlab": {},
    "legacy": {},
    "legacy_forbidden": {},
}


@pytest.fixture(scope="module")
def source_digest(anon_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> str:
    return seed(anon_registry, REPO, "v1", tmp_path=tmp_path_factory.mktemp("pcs"))


def sync(home: Path, args: list[str], insecure: list[str], auths: dict[str, Any]) -> Ran:
    auth = write_auths(home / "auth.json", auths)
    env = base_env(
        home, REGISTRY_AUTH_FILE=str(auth), IMGSYNC_INSECURE_REGISTRIES=",".join(insecure)
    )
    return run_imgsync(["sync", *args], env, report=home / "report.json", timeout=120)


def statuses(ran: Ran) -> list[str]:
    assert ran.report is not None, ran.output
    return [r["status"] for r in ran.report["results"]]


def copy_then_skip(
    source: Personality, anon_registry: Registry, tmp_path: Path, dst: str, auths: dict[str, Any]
) -> tuple[Ran, int]:
    """Run the mapping twice; return the second run and the source's manifest GETs in it."""
    mapping = f"{source.host}/{REPO}:v1={anon_registry.host}/{dst}:v1"
    insecure = [source.host, anon_registry.host]
    first = sync(tmp_path, [mapping], insecure, auths)
    assert first.returncode == 0 and statuses(first) == ["synced"], first.output
    mark = source.stats.mark()
    second = sync(tmp_path, [mapping], insecure, auths)
    assert second.returncode == 0 and statuses(second) == ["skipped"], second.output
    return second, source.stats.count("GET", since=mark)


@pytest.mark.parametrize("name", sorted(ANONYMOUS))
def test_each_registry_as_a_source_copies_and_the_re_run_skips(
    personality: PersonalityFactory,
    anon_registry: Registry,
    source_digest: str,
    tmp_path: Path,
    unique_repo: str,
    name: str,
) -> None:
    source = personality(name, **ANONYMOUS[name])
    second, gets = copy_then_skip(source, anon_registry, tmp_path, unique_repo, {})
    assert second.result_for(unique_repo)["destination_digest"] == source_digest
    if name == "dockerhub":
        assert gets == 0  # metered: the skip is HEAD only


def test_ecr_as_a_source_with_its_basic_login_copies_and_the_re_run_skips(
    personality: PersonalityFactory,
    anon_registry: Registry,
    source_digest: str,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    ecr = personality("ecr", repositories=[REPO])
    assert isinstance(ecr, Ecr)
    auths = {ecr.host: ("AWS", ecr.login_password())}
    second, _ = copy_then_skip(ecr, anon_registry, tmp_path, unique_repo, auths)
    assert second.result_for(unique_repo)["destination_digest"] == source_digest


def test_quays_paged_tag_list_is_read_to_the_end_by_a_tag_filter(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    quay = personality("quay")
    quay.seed(f"{unique_repo}/src", "v0")
    tags = [f"v{n}" for n in range(1, 120)]
    quay.add_tags(f"{unique_repo}/src", "v0", tags)
    config = tmp_path / "sync.yaml"
    config.write_text(
        "images:\n"
        f"  - source: {quay.host}/{unique_repo}/src\n"
        "    tags: {regex: '^v11[0-9]$'}\n"
        f"    destinations: [{anon_registry.host}/{unique_repo}/dst]\n"
    )
    ran = sync(tmp_path, ["--config", str(config)], [quay.host, anon_registry.host], {})
    assert ran.returncode == 0, ran.output
    assert statuses(ran) == ["synced"] * 10  # v110..v119 live on the third page
    assert quay.stats.count("GET", kind="tags") >= 3
