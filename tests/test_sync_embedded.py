"""``imgsync sync`` in embedded mode against real registries and the real skopeo."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema
import pytest

from tests.cli_run import (
    CmdlineSampler,
    Ran,
    authfile_for,
    base_env,
    insecure,
    run_imgsync,
)
from tests.rig.fake_notify import FakeNotifyServer, fake_wpush, fake_wxpusher
from tests.rig.inspect import head_digest, list_platforms
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry
SeedImage = Callable[..., str]

REPORT_SCHEMA = json.loads((Path(__file__).parent / "data" / "report.schema.json").read_text())
ALL_PLATFORMS = ["linux/amd64", "linux/arm/v7", "linux/arm64"]


@pytest.fixture
def env(
    tmp_path: Path, token_registry: Registry, basic_registry: Registry, anon_registry: Registry
) -> dict[str, str]:
    """Credentials for the rig's registries in an auth file; all three are plain http."""
    auth = authfile_for(tmp_path / "auth.json", [token_registry, basic_registry])
    return base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=insecure(token_registry, basic_registry, anon_registry),
    )


def sync(env: dict[str, str], tmp_path: Path, *args: str) -> Ran:
    return run_imgsync(["sync", *args], env, report=tmp_path / "report.json")


def test_multi_platform_copy_then_skip_with_head_requests_only(
    env: dict[str, str],
    tmp_path: Path,
    token_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    digest = seed_image(token_registry, unique_repo, "1.0")
    mapping = f"{token_registry.host}/{unique_repo}:1.0={basic_registry.host}/mirror/{unique_repo}"

    first = sync(env, tmp_path, mapping)
    assert first.returncode == 0, first.output
    assert first.result_for(unique_repo)["status"] == "synced"
    assert head_digest(basic_registry, f"mirror/{unique_repo}", "1.0") == digest
    assert sorted(list_platforms(basic_registry, f"mirror/{unique_repo}", "1.0")) == ALL_PLATFORMS

    src_mark, dst_mark = token_registry.mark(), basic_registry.mark()
    second = sync(env, tmp_path, mapping)
    assert second.returncode == 0, second.output
    result = second.result_for(unique_repo)
    assert result["status"] == "skipped"
    assert result["source_digest"] == result["destination_digest"] == digest
    for registry, mark in ((token_registry, src_mark), (basic_registry, dst_mark)):
        assert registry.count("HEAD", since=mark) >= 1
        assert registry.count("GET", since=mark) == 0
        assert registry.count("PUT", path_contains="/", since=mark) == 0
        assert registry.count("POST", path_contains="/", since=mark) == 0


def test_changed_source_is_synced_again(
    env: dict[str, str],
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "latest", version="1")
    mapping = f"{anon_registry.host}/{unique_repo}={basic_registry.host}/{unique_repo}"
    assert sync(env, tmp_path, mapping).returncode == 0

    new_digest = seed_image(anon_registry, unique_repo, "latest", version="2")
    again = sync(env, tmp_path, mapping)
    assert again.returncode == 0, again.output
    assert again.result_for(unique_repo)["status"] == "synced"
    assert head_digest(basic_registry, unique_repo, "latest") == new_digest


@pytest.fixture
def wrong_password_registry(tmp_path: Path) -> Iterator[Registry]:
    """A registry whose password in the auth file is wrong."""
    with Registry("htpasswd", workdir=tmp_path / "wrongpw") as registry:
        yield registry


def test_failures_get_their_category_while_other_mappings_succeed(
    env: dict[str, str],
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    wrong_password_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "ok")
    authfile_for(Path(env["REGISTRY_AUTH_FILE"]), [basic_registry])
    bad = wrong_password_registry
    extra = json.loads(Path(env["REGISTRY_AUTH_FILE"]).read_text())
    extra["auths"][bad.host] = {"username": "tester", "password": "not-the-password"}
    Path(env["REGISTRY_AUTH_FILE"]).write_text(json.dumps(extra))
    env["IMGSYNC_INSECURE_REGISTRIES"] += f",{bad.host},127.0.0.1:1"
    env["IMGSYNC_MAX_RETRIES"] = "1"
    src = f"{anon_registry.host}/{unique_repo}"
    mappings = ",".join(
        [
            f"{src}:ok={basic_registry.host}/{unique_repo}/good:ok",
            f"{src}:missing={basic_registry.host}/{unique_repo}/missing:x",
            f"{src}:ok={bad.host}/{unique_repo}/wrongpw:ok",
            f"127.0.0.1:1/{unique_repo}:ok={basic_registry.host}/{unique_repo}/down:ok",
        ]
    )
    ran = sync(env, tmp_path, "--mappings", mappings)

    assert ran.returncode == 1, ran.output
    assert ran.result_for("/good:")["status"] == "synced"
    categories = {
        part: ran.result_for(part)["error"]["category"]
        for part in ("/missing:", "/wrongpw:", "/down:")
    }
    assert categories == {"/missing:": "not_found", "/wrongpw:": "auth", "/down:": "network"}
    attempts = {part: ran.result_for(part)["attempts"] for part in categories}
    assert attempts == {"/missing:": 1, "/wrongpw:": 1, "/down:": 2}, "only network is retried"
    assert "not-the-password" not in ran.output + json.dumps(ran.report)
    assert ran.report is not None and ran.report["summary"]["failed"] == 3


def test_dry_run_copies_nothing_and_reports_would_sync(
    env: dict[str, str],
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "1")
    mark = basic_registry.mark()
    ran = sync(
        env,
        tmp_path,
        "--dry-run",
        f"{anon_registry.host}/{unique_repo}:1={basic_registry.host}/{unique_repo}",
    )
    assert ran.returncode == 0, ran.output
    assert ran.result_for(unique_repo)["status"] == "would_sync"
    assert head_digest(basic_registry, unique_repo, "1") is None
    writes = [r for r in basic_registry.requests(mark) if r.method in ("PUT", "POST", "PATCH")]
    assert writes == []


def test_report_matches_the_documented_schema(
    env: dict[str, str],
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "a")
    src = f"{anon_registry.host}/{unique_repo}"
    ran = sync(
        env,
        tmp_path,
        f"{src}:a={basic_registry.host}/{unique_repo}:a",
        f"{src}:nope={basic_registry.host}/{unique_repo}:nope",
    )
    assert ran.report is not None
    jsonschema.validate(ran.report, REPORT_SCHEMA)
    assert ran.report["mode"] == "embedded"
    assert [r["status"] for r in ran.report["results"]] == ["synced", "failed"]
    assert ran.report["summary"] == {"synced": 1, "skipped": 0, "failed": 1, "would_sync": 0}


def test_token_never_appears_in_process_list_or_output(
    env: dict[str, str],
    tmp_path: Path,
    token_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(token_registry, unique_repo, "1", name=f"{unique_repo}-big")
    env["DOCKERHUB_TOKEN"] = "dckr_pat_SECRET_never_show_me"
    env["DOCKERHUB_USERNAME"] = "someone"
    mapping = f"{token_registry.host}/{unique_repo}:1={basic_registry.host}/{unique_repo}"
    with CmdlineSampler() as sampler:
        ran = run_imgsync(["-vv", "sync", mapping], env, report=tmp_path / "report.json")
    assert ran.returncode == 0, ran.output
    assert sampler.skopeo_seen, "the sampler never saw skopeo running"
    secrets = [env["DOCKERHUB_TOKEN"], str(token_registry.password), str(basic_registry.password)]
    leaked = [s for s in secrets for line in sampler.seen if s in line]
    assert leaked == []
    everything = ran.output + json.dumps(ran.report)
    assert [s for s in secrets if s in everything] == []


def test_mixed_run_notifies_wpush_and_wxpusher_once_with_the_seed_format(
    env: dict[str, str],
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "new")
    seed_image(anon_registry, unique_repo, "same")
    src, dst = f"{anon_registry.host}/{unique_repo}", f"{basic_registry.host}/{unique_repo}"
    assert sync(env, tmp_path, f"{src}:same={dst}:same").returncode == 0
    with fake_wpush() as wpush, fake_wxpusher() as wx:
        env.update(
            WPUSH_KEY="WPUSHsecretkey",
            IMGSYNC_WPUSH_API=wpush.url,
            WXPUSHER_APP_TOKEN="AT_secret",
            WXPUSHER_UIDS="UID_x",
            IMGSYNC_WXPUSHER_API=wx.url,
        )
        ran = sync(
            env, tmp_path, f"{src}:new={dst}:new,{src}:same={dst}:same,{src}:gone={dst}:gone"
        )
    assert ran.returncode == 1
    assert [r.path for r in wpush.requests] == ["/api/v1/send"]
    assert [r.path for r in wx.requests] == ["/api/send/message"]
    wpush_body, wx_body = wpush.requests[0].json, wx.requests[0].json
    assert wpush_body["apikey"] == "WPUSHsecretkey"
    assert wpush_body["title"] == "镜像同步结果"
    assert wx_body["appToken"] == "AT_secret" and wx_body["uids"] == ["UID_x"]
    assert wx_body["contentType"] == 3
    for content in (wpush_body["content"], wx_body["content"]):
        assert f"✅ `{src}:new` → `{dst}:new`" in content
        assert f"🔜 `{src}:same` → `{dst}:same`" in content
        assert f"❌ `{src}:gone` → `{dst}:gone`" in content
        assert "not_found" in content
    assert "WPUSHsecretkey" not in ran.output and "AT_secret" not in ran.output


def test_failing_notifier_is_shown_but_does_not_change_the_exit_code(
    env: dict[str, str],
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "1")
    with FakeNotifyServer() as wpush:
        wpush.respond(200, {"code": 1001, "message": "apikey invalid", "data": None})
        env.update(WPUSH_KEY="WPUSHbad", IMGSYNC_WPUSH_API=wpush.url)
        ran = sync(
            env,
            tmp_path,
            f"{anon_registry.host}/{unique_repo}:1={basic_registry.host}/{unique_repo}",
        )
    assert ran.returncode == 0, ran.output
    assert "wpush" in ran.stdout and "apikey invalid" in ran.stdout
    assert ran.report is not None
    assert ran.report["notifications"] == [
        {"channel": "wpush", "ok": False, "detail": ran.report["notifications"][0]["detail"]}
    ]


def test_invalid_mapping_runs_nothing_and_exits_2(
    env: dict[str, str], tmp_path: Path, basic_registry: Registry
) -> None:
    mark = basic_registry.mark()
    ran = sync(env, tmp_path, f"alpine={basic_registry.host}/ok,Bad=x/y,nginx=$(id)")
    assert ran.returncode == 2
    assert "item 2" in ran.stderr and "item 3" in ran.stderr
    assert basic_registry.requests(mark) == []
    assert ran.report is None


def test_markdown_summary_goes_to_file_and_github_step_summary(
    env: dict[str, str],
    tmp_path: Path,
    anon_registry: Registry,
    basic_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "1")
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("# earlier step\n")
    env["GITHUB_STEP_SUMMARY"] = str(step_summary)
    markdown = tmp_path / "summary.md"
    mapping = f"{anon_registry.host}/{unique_repo}:1={basic_registry.host}/{unique_repo}"
    ran = sync(env, tmp_path, "--summary-markdown", str(markdown), mapping)
    assert ran.returncode == 0, ran.output
    table = markdown.read_text()
    assert "| synced |" in table.lower() or "synced" in table
    assert f"{basic_registry.host}/{unique_repo}:1" in table
    assert step_summary.read_text().startswith("# earlier step\n")
    assert table.strip() in step_summary.read_text()
