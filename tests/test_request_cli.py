"""``imgsync request`` end to end: a real event file, real registries and skopeo, and the
GitHub stand-in, which must receive exactly one answer (comment, labels, maybe a close)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.celery_rig import Cluster, fresh_redis_db, unique_name
from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.github_api import GitHubStandIn
from tests.rig.inspect import head_digest
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry
SeedImage = Callable[..., str]
EVENTS = Path(__file__).parent / "data" / "github"
REPOSITORY = "acme/mirror"
TOKEN = "ghs_standInToken0123456789abcdefABCDEF"
HOSTILE = "`$(touch /tmp/pwned)` @octocat <img src=x onerror=alert(1)>, ; rm -rf ~, #1"


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn(REPOSITORY, TOKEN) as stand_in:
        yield stand_in


def event_file(tmp_path: Path, name: str, body: str) -> Path:
    """A recorded payload, its issue asking for the rig's images instead of Docker Hub's."""
    payload: dict[str, Any] = json.loads((EVENTS / name).read_text())
    payload["issue"].update(title="Mirror request", body=body)
    path = tmp_path / name
    path.write_text(json.dumps(payload))
    return path


def allowlist_file(tmp_path: Path, registry: Registry, repo: str) -> Path:
    path = tmp_path / "allowlist.yaml"
    path.write_text(
        f"allow:\n  - {registry.host}/{repo}/*\ndeny:\n  - {registry.host}/{repo}/denied\n"
    )
    return path


def request(
    tmp_path: Path,
    registry: Registry,
    github: GitHubStandIn,
    event: Path,
    *args: str,
    **extra_env: str,
) -> Ran:
    env = base_env(
        tmp_path,
        GITHUB_TOKEN=TOKEN,
        GITHUB_API_URL=github.url,
        GITHUB_REPOSITORY=REPOSITORY,
        GITHUB_EVENT_PATH=str(event),
        IMGSYNC_INSECURE_REGISTRIES=registry.host,
        IMGSYNC_DEST_PREFIX=f"{registry.host}/mirror",
    )
    env.update(extra_env)
    return run_imgsync(["request", *args], env, timeout=120)


def test_an_opened_issue_is_mirrored_as_allowed_and_answered_once(
    tmp_path: Path,
    anon_registry: Registry,
    github: GitHubStandIn,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    digest = seed_image(anon_registry, f"{unique_repo}/ok", "1.0")
    seed_image(anon_registry, f"{unique_repo}/denied", "1.0")
    issue = github.add_issue(42)
    body = f"### Images\n\n{anon_registry.host}/{unique_repo}/ok:1.0\n"
    body += f"- {anon_registry.host}/{unique_repo}/denied:1.0\n{HOSTILE}\n"
    event = event_file(tmp_path, "issues_opened.json", body)
    allowlist = allowlist_file(tmp_path, anon_registry, unique_repo)

    ran = request(tmp_path, anon_registry, github, event, "--allowlist", str(allowlist))

    assert ran.returncode == 0, ran.output
    assert head_digest(anon_registry, f"mirror/{unique_repo}/ok", "1.0") == digest
    assert head_digest(anon_registry, f"mirror/{unique_repo}/denied", "1.0") is None
    assert [(c.method, c.path, c.status) for c in github.calls] == [
        ("POST", f"/repos/{REPOSITORY}/issues/42/comments", 201),
        ("POST", f"/repos/{REPOSITORY}/issues/42/labels", 200),
    ]
    assert all(c.headers["Authorization"] == f"Bearer {TOKEN}" for c in github.calls)
    assert github.calls[1].json == {"labels": ["partial"]}
    (comment,) = issue.comments
    assert f"docker pull {anon_registry.host}/mirror/{unique_repo}/ok:1.0" in comment
    assert digest in comment
    assert f"{unique_repo}/denied is denied" in comment.replace("\\", "")
    assert "@octocat" not in comment and "<img" not in comment
    assert (issue.labels, issue.state) == (["partial"], "open")
    assert not Path("/tmp/pwned").exists()
    assert TOKEN not in ran.output


def test_a_sync_comment_re_runs_relabels_and_closes_when_everything_is_ready(
    tmp_path: Path,
    anon_registry: Registry,
    github: GitHubStandIn,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    digest = seed_image(anon_registry, f"{unique_repo}/ok", "2.0")
    issue = github.add_issue(42, labels=["failed", "help wanted"])
    body = f"{anon_registry.host}/{unique_repo}/ok:2.0"
    event = event_file(tmp_path, "issue_comment_sync.json", body)
    allowlist = allowlist_file(tmp_path, anon_registry, unique_repo)

    ran = request(tmp_path, anon_registry, github, event, "--allowlist", str(allowlist))

    assert ran.returncode == 0, ran.output
    assert head_digest(anon_registry, f"mirror/{unique_repo}/ok", "2.0") == digest
    assert [(c.method, c.path.rsplit("/", 1)[-1], c.status) for c in github.calls] == [
        ("POST", "comments", 201),
        ("DELETE", "failed", 200),
        ("POST", "labels", 200),
        ("PATCH", "42", 200),
    ]
    assert github.calls[-1].json == {"state": "closed", "state_reason": "completed"}
    assert (issue.labels, issue.state) == (["help wanted", "synced"], "closed")


@pytest.mark.parametrize(
    "name",
    [
        "issues_edited.json",
        "issue_comment_plain.json",
        "issue_comment_bot.json",
        "pull_request_comment.json",
    ],
)
def test_events_that_ask_for_nothing_touch_neither_registry_nor_github(
    name: str, tmp_path: Path, anon_registry: Registry, github: GitHubStandIn
) -> None:
    mark = anon_registry.mark()
    ran = request(tmp_path, anon_registry, github, EVENTS / name, "--allowlist", "/nonexistent")
    assert ran.returncode == 0, ran.output
    assert "nothing to do" in ran.stdout
    assert github.calls == []
    assert anon_registry.count("HEAD", since=mark) == 0


def test_dry_run_prints_the_answer_and_a_refused_token_is_one_clear_error(
    tmp_path: Path,
    anon_registry: Registry,
    github: GitHubStandIn,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, f"{unique_repo}/ok", "3.0")
    github.add_issue(42)
    event = event_file(tmp_path, "issues_opened.json", f"{anon_registry.host}/{unique_repo}/ok:3.0")
    allowlist = allowlist_file(tmp_path, anon_registry, unique_repo)

    printed = request(
        tmp_path, anon_registry, github, event, "--allowlist", str(allowlist), "--dry-run"
    )
    assert printed.returncode == 0, printed.output
    assert "would be synced (dry run)" in printed.stdout and "label: synced" in printed.stdout
    assert github.calls == []
    assert head_digest(anon_registry, f"mirror/{unique_repo}/ok", "3.0") is None

    github.token = "another-token"
    refused = request(tmp_path, anon_registry, github, event, "--allowlist", str(allowlist))
    assert refused.returncode == 1
    assert "GitHub API POST /issues/42/comments: HTTP 401: Bad credentials" in refused.stderr
    assert TOKEN not in refused.output


@pytest.mark.celery
def test_with_a_broker_the_copy_runs_on_a_worker_and_the_answer_is_the_same(
    tmp_path: Path,
    redis_server: RedisServer,
    anon_registry: Registry,
    github: GitHubStandIn,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    digest = seed_image(anon_registry, f"{unique_repo}/ok", "4.0")
    issue = github.add_issue(42)
    event = event_file(tmp_path, "issues_opened.json", f"{anon_registry.host}/{unique_repo}/ok:4.0")
    allowlist = allowlist_file(tmp_path, anon_registry, unique_repo)
    with fresh_redis_db(redis_server) as url:
        env = base_env(tmp_path, IMGSYNC_INSECURE_REGISTRIES=anon_registry.host)
        env.update(IMGSYNC_BROKER_URL=url, IMGSYNC_QUEUE=unique_name("request"))
        workers = Cluster(tmp_path, env)
        try:
            workers.start_workers(unique_name("r1"), concurrency=1)
            broker = {name: env[name] for name in ("IMGSYNC_BROKER_URL", "IMGSYNC_QUEUE")}
            ran = request(
                tmp_path, anon_registry, github, event, "--allowlist", str(allowlist), **broker
            )
        finally:
            workers.stop()
    assert ran.returncode == 0, ran.output + workers.logs(tail=3000)
    assert "run id:" in ran.stderr
    assert head_digest(anon_registry, f"mirror/{unique_repo}/ok", "4.0") == digest
    assert [c.method for c in github.calls] == ["POST", "POST", "PATCH"]
    assert issue.labels == ["synced"] and digest in issue.comments[0]
