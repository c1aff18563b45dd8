"""Destination templates and registry profiles through the real ``imgsync`` command.

The destination is the ACR Personal personality (``tests/rig/personalities/acr.py``):
it refuses ``namespace/a/b`` as ACR does, but it listens on ``127.0.0.1:PORT``, which
the built-in profile table cannot recognise. The sync file's per-registry override
(``registries: {HOST: {profile: acr-personal}}``) names the profile instead — the
same setting a user needs for a custom domain or a proxy in front of ACR — so the
tests exercise the user-facing path rather than a test-only hook.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.celery_rig import Cluster, fresh_redis_db, unique_name
from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.proxy import Personality
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry
ACCOUNT = ("acr-user", "acr-s3cret")
ACR_HOST = "registry.cn-hangzhou.aliyuncs.com"


@pytest.fixture
def acr(personality: PersonalityFactory) -> Personality:
    return personality("acr", namespaces=["myns"], accounts=dict([ACCOUNT]))


@pytest.fixture
def source(anon_registry: Registry, tmp_path: Path, unique_repo: str) -> str:
    """``HOST/t/<test>-N:v1``: a two-level source path, so flattening has work to do."""
    seed(anon_registry, unique_repo, "v1", tmp_path=tmp_path, platforms=[("linux", "amd64", None)])
    return f"{anon_registry.host}/{unique_repo}:v1"


def sync_file(tmp_path: Path, acr: Personality, source: str, **registry: Any) -> Path:
    """The source as a bare entry (the command line's prefix serves it), and the profile."""
    settings = {"profile": "acr-personal", "insecure": True, **registry}
    document = {"registries": {acr.host: settings}, "images": [{"source": source}]}
    path = tmp_path / "sync.yaml"
    path.write_text(json.dumps(document))
    return path


def env_for(
    tmp_path: Path, anon_registry: Registry, acr: Personality, **extra: str
) -> dict[str, str]:
    auth = write_auths(tmp_path / "auth.json", {acr.host: ACCOUNT})
    return base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=f"{anon_registry.host},{acr.host}",
        IMGSYNC_MAX_RETRIES="0",
        IMGSYNC_RETRY_TIMES="0",
        **extra,
    )


def run(args: list[str], env: dict[str, str], tmp_path: Path, name: str = "report") -> Ran:
    return run_imgsync(args, env, report=tmp_path / f"{name}.json" if args[0] == "sync" else None)


# ---------------------------------------------------------------------- refused up front


def test_validate_refuses_a_prefix_too_deep_for_acr_naming_the_templates_that_fit(
    tmp_path: Path,
) -> None:
    ran = run_imgsync(
        ["validate", "bitnami/redis:7", "--dest-prefix", f"{ACR_HOST}/myns"], base_env(tmp_path)
    )
    assert ran.returncode == 2, ran.output
    assert (
        f"{ACR_HOST} (Aliyun ACR Personal Edition, profile acr-personal) allows "
        "namespace/repository only: myns/bitnami/redis has 3 levels; set --dest-template "
        "(sync file: dest_template) to flat:_ (→ myns/bitnami_redis) or last (→ myns/redis)"
    ) in ran.stderr
    fixed = run_imgsync(
        [
            "validate",
            "bitnami/redis:7",
            "--dest-prefix",
            f"{ACR_HOST}/myns",
            "--dest-template",
            "flat:_",
        ],
        base_env(tmp_path),
    )
    assert fixed.returncode == 0, fixed.output
    assert fixed.stdout.strip() == f"docker.io/bitnami/redis:7 -> {ACR_HOST}/myns/bitnami_redis:7"


@pytest.mark.parametrize("command", ["validate", "sync"])
def test_a_too_deep_plan_fails_with_exit_2_before_any_request(
    command: str, acr: Personality, anon_registry: Registry, tmp_path: Path
) -> None:
    """A filtered entry would list the source's tags first: the check comes before that."""
    document = {
        "defaults": {"dest_prefix": f"{acr.host}/myns"},
        "registries": {acr.host: {"profile": "acr-personal", "insecure": True}},
        "images": [{"source": f"{acr.host}/myns/app", "tags": {"semver": ">=1"}}],
    }
    config = tmp_path / "sync.yaml"
    config.write_text(json.dumps(document))
    ran = run([command, "--config", str(config)], env_for(tmp_path, anon_registry, acr), tmp_path)
    assert ran.returncode == 2, ran.output
    assert "myns/myns/app has 3 levels" in ran.stderr
    assert "flat:_ (→ myns/myns_app) or last (→ myns/app)" in ran.stderr
    assert acr.stats.requests() == []


def test_a_bad_template_is_refused_naming_it_and_where_it_came_from(tmp_path: Path) -> None:
    flag = run_imgsync(
        ["validate", "a", "--dest-prefix", "r.example.com/m", "--dest-template", "flat:/"],
        base_env(tmp_path),
    )
    assert flag.returncode == 2
    assert "'--dest-template'" in flag.stderr and "'flat:/': bad separator" in flag.stderr
    env = base_env(tmp_path, IMGSYNC_DEST_TEMPLATE="tree")
    variable = run_imgsync(["sync", "a", "--dest-prefix", "r.example.com/m", "--dry-run"], env)
    assert variable.returncode == 2
    assert "IMGSYNC_DEST_TEMPLATE" in variable.stderr and "'tree' is unknown" in variable.stderr


# ---------------------------------------------------------------------- flattened copies


def test_sync_with_a_flattening_template_lands_at_the_flat_name_and_skips_on_rerun(
    acr: Personality, anon_registry: Registry, source: str, unique_repo: str, tmp_path: Path
) -> None:
    config = sync_file(tmp_path, acr, source)
    env = env_for(tmp_path, anon_registry, acr)
    args = ["--config", str(config), "--dest-prefix", f"{acr.host}/myns"]
    flat = "myns/" + unique_repo.replace("/", "_")

    first = run(["sync", *args, "--dest-template", "flat:_"], env, tmp_path, "first")
    assert first.returncode == 0, first.output
    assert first.result_for(flat)["status"] == "synced"
    assert first.result_for(flat)["destination"] == f"{acr.host}/{flat}:v1"
    assert acr.upstream_has(flat)

    mark = acr.stats.mark()
    again = run(["sync", *args], {**env, "IMGSYNC_DEST_TEMPLATE": "flat"}, tmp_path, "again")
    assert again.returncode == 0, again.output
    assert again.result_for(flat)["status"] == "skipped"
    assert (
        acr.stats.count("PUT", since=mark) == 0
        and acr.stats.count("POST", "blobs", since=mark) == 0
    )


def test_a_registry_template_in_the_sync_file_serves_bare_sources(
    acr: Personality, anon_registry: Registry, source: str, unique_repo: str, tmp_path: Path
) -> None:
    config = sync_file(tmp_path, acr, source, dest_template="last")
    env = env_for(tmp_path, anon_registry, acr)
    ran = run(
        ["sync", "--config", str(config), "--dest-prefix", f"{acr.host}/myns"],
        env,
        tmp_path,
    )
    last = "myns/" + unique_repo.rpartition("/")[2]
    assert ran.returncode == 0, ran.output
    assert ran.result_for(last)["status"] == "synced" and acr.upstream_has(last)


def test_with_the_profile_lifted_the_registry_itself_refuses_the_deep_push(
    acr: Personality, anon_registry: Registry, source: str, unique_repo: str, tmp_path: Path
) -> None:
    """Without the plan's check the registry refuses (caught by the push check, before skopeo)."""
    config = sync_file(tmp_path, acr, source, profile="generic")
    env = env_for(tmp_path, anon_registry, acr)
    ran = run(
        ["sync", "--config", str(config), "--dest-prefix", f"{acr.host}/myns"],
        env,
        tmp_path,
    )
    assert ran.returncode == 1, ran.output
    result = ran.result_for(f"myns/{unique_repo}")
    message = result["error"]["message"]
    assert result["status"] == "failed" and "allows namespace/repository only" in message
    assert acr.stats.count("POST", "blobs") == 0


# ---------------------------------------------------------------------- Celery workers


@pytest.fixture
def cluster(
    tmp_path: Path,
    redis_server: RedisServer,
    anon_registry: Registry,
    acr: Personality,
    source: str,
) -> Iterator[tuple[Cluster, Path]]:
    """One worker; producer and worker read the sync file ``IMGSYNC_CONFIG`` names."""
    config = sync_file(tmp_path, acr, source, dest_template="flat:-")
    (tmp_path / "home").mkdir()
    with fresh_redis_db(redis_server) as url:
        env = env_for(tmp_path / "home", anon_registry, acr)
        env.update(
            IMGSYNC_BROKER_URL=url, IMGSYNC_QUEUE=unique_name("tmpl"), IMGSYNC_CONFIG=str(config)
        )
        running = Cluster(tmp_path, env)
        try:
            running.start_workers(unique_name("t1"), concurrency=1)
            yield running, config
        finally:
            running.stop()


@pytest.mark.celery
def test_a_flattening_template_lands_through_celery_workers_and_skips_on_rerun(
    cluster: tuple[Cluster, Path], acr: Personality, unique_repo: str
) -> None:
    workers, _ = cluster
    flat = "myns/" + unique_repo.replace("/", "-")
    first = workers.sync(["--dest-prefix", f"{acr.host}/myns"])
    assert first.returncode == 0, first.output + workers.logs()
    assert first.report is not None and first.report["mode"] == "celery"
    assert first.result_for(flat)["status"] == "synced" and acr.upstream_has(flat)
    again = workers.sync(["--dest-prefix", f"{acr.host}/myns"])
    assert again.returncode == 0, again.output
    assert again.result_for(flat)["status"] == "skipped"
