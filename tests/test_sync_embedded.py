"""``imgsync sync`` in embedded mode against real registries and the real skopeo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from tests.cli_run import REPORT_SCHEMA, CmdlineSampler, Rig, authfile_for
from tests.rig.fake_notify import FakeNotifyServer, fake_wpush, fake_wxpusher
from tests.rig.inspect import head_digest, list_platforms
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry

ALL_PLATFORMS = ["linux/amd64", "linux/arm/v7", "linux/arm64"]


def test_multi_platform_copy_then_skip_with_head_requests_only(rig: Rig) -> None:
    digest = rig.seed(rig.token, "1.0")
    mirror = f"mirror/{rig.repo}"
    mapping = f"{rig.token.host}/{rig.repo}:1.0={rig.basic.host}/{mirror}"

    first = rig.sync(mapping)
    assert first.returncode == 0, first.output
    assert first.result_for(rig.repo)["status"] == "synced"
    assert head_digest(rig.basic, mirror, "1.0") == digest
    assert sorted(list_platforms(rig.basic, mirror, "1.0")) == ALL_PLATFORMS

    src_mark, dst_mark = rig.token.mark(), rig.basic.mark()
    second = rig.sync(mapping)
    assert second.returncode == 0, second.output
    result = second.result_for(rig.repo)
    assert result["status"] == "skipped"
    assert result["source_digest"] == result["destination_digest"] == digest
    for registry, mark in ((rig.token, src_mark), (rig.basic, dst_mark)):
        assert registry.count("HEAD", since=mark) >= 1
        assert registry.count("GET", since=mark) == 0
        assert registry.count("PUT", path_contains="/", since=mark) == 0
        assert registry.count("POST", path_contains="/", since=mark) == 0


def test_changed_source_is_synced_again(rig: Rig) -> None:
    rig.seed(rig.anon, "latest", version="1")
    mapping = f"{rig.anon.host}/{rig.repo}={rig.basic.host}/{rig.repo}"
    assert rig.sync(mapping).returncode == 0

    new_digest = rig.seed(rig.anon, "latest", version="2")
    again = rig.sync(mapping)
    assert again.returncode == 0, again.output
    assert again.result_for(rig.repo)["status"] == "synced"
    assert head_digest(rig.basic, rig.repo, "latest") == new_digest


@pytest.fixture
def wrong_password_registry(tmp_path: Path) -> Iterator[Registry]:
    """A registry whose password in the auth file is wrong."""
    with Registry("htpasswd", workdir=tmp_path / "wrongpw") as registry:
        yield registry


def test_failures_get_their_category_while_other_mappings_succeed(
    rig: Rig, wrong_password_registry: Registry
) -> None:
    rig.seed(rig.anon, "ok")
    auth_file = Path(rig.env["REGISTRY_AUTH_FILE"])
    authfile_for(auth_file, [rig.basic])
    bad = wrong_password_registry
    extra = json.loads(auth_file.read_text())
    extra["auths"][bad.host] = {"username": "tester", "password": "not-the-password"}
    auth_file.write_text(json.dumps(extra))
    rig.env["IMGSYNC_INSECURE_REGISTRIES"] += f",{bad.host},127.0.0.1:1"
    rig.env["IMGSYNC_MAX_RETRIES"] = "1"
    src, dst = f"{rig.anon.host}/{rig.repo}", f"{rig.basic.host}/{rig.repo}"
    mappings = ",".join(
        [
            f"{src}:ok={dst}/good:ok",
            f"{src}:missing={dst}/missing:x",
            f"{src}:ok={bad.host}/{rig.repo}/wrongpw:ok",
            f"127.0.0.1:1/{rig.repo}:ok={dst}/down:ok",
        ]
    )
    ran = rig.sync("--mappings", mappings)

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


def test_dry_run_copies_nothing_and_reports_would_sync(rig: Rig) -> None:
    rig.seed(rig.anon, "1")
    mark = rig.basic.mark()
    ran = rig.sync("--dry-run", f"{rig.anon.host}/{rig.repo}:1={rig.basic.host}/{rig.repo}")
    assert ran.returncode == 0, ran.output
    assert ran.result_for(rig.repo)["status"] == "would_sync"
    assert head_digest(rig.basic, rig.repo, "1") is None
    writes = [r for r in rig.basic.requests(mark) if r.method in ("PUT", "POST", "PATCH")]
    assert writes == []


def test_report_matches_the_documented_schema(rig: Rig) -> None:
    rig.seed(rig.anon, "a")
    src, dst = f"{rig.anon.host}/{rig.repo}", f"{rig.basic.host}/{rig.repo}"
    ran = rig.sync(f"{src}:a={dst}:a", f"{src}:nope={dst}:nope")
    assert ran.report is not None
    jsonschema.validate(ran.report, REPORT_SCHEMA)
    assert ran.report["mode"] == "embedded"
    assert [r["status"] for r in ran.report["results"]] == ["synced", "failed"]
    assert ran.report["summary"] == {"synced": 1, "skipped": 0, "failed": 1, "would_sync": 0}


def test_token_never_appears_in_process_list_or_output(rig: Rig) -> None:
    rig.seed(rig.token, "1", name=f"{rig.repo}-big")
    hub = {"DOCKERHUB_TOKEN": "dckr_pat_SECRET_never_show_me", "DOCKERHUB_USERNAME": "someone"}
    mapping = f"{rig.token.host}/{rig.repo}:1={rig.basic.host}/{rig.repo}"
    with CmdlineSampler() as sampler:
        ran = rig.sync(mapping, options=["-vv"], env=hub)
    assert ran.returncode == 0, ran.output
    assert sampler.skopeo_seen, "the sampler never saw skopeo running"
    secrets = [hub["DOCKERHUB_TOKEN"], str(rig.token.password), str(rig.basic.password)]
    leaked = [s for s in secrets for line in sampler.seen if s in line]
    assert leaked == []
    everything = ran.output + json.dumps(ran.report)
    assert [s for s in secrets if s in everything] == []


def test_mixed_run_notifies_wpush_and_wxpusher_once_with_the_seed_format(rig: Rig) -> None:
    rig.seed(rig.anon, "new")
    rig.seed(rig.anon, "same")
    src, dst = f"{rig.anon.host}/{rig.repo}", f"{rig.basic.host}/{rig.repo}"
    assert rig.sync(f"{src}:same={dst}:same").returncode == 0
    with fake_wpush() as wpush, fake_wxpusher() as wx:
        channels = {
            "WPUSH_KEY": "WPUSHsecretkey",
            "IMGSYNC_WPUSH_API": wpush.url,
            "WXPUSHER_APP_TOKEN": "AT_secret",
            "WXPUSHER_UIDS": "UID_x",
            "IMGSYNC_WXPUSHER_API": wx.url,
        }
        mappings = f"{src}:new={dst}:new,{src}:same={dst}:same,{src}:gone={dst}:gone"
        ran = rig.sync(mappings, env=channels)
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


def test_failing_notifier_is_shown_but_does_not_change_the_exit_code(rig: Rig) -> None:
    rig.seed(rig.anon, "1")
    mapping = f"{rig.anon.host}/{rig.repo}:1={rig.basic.host}/{rig.repo}"
    with FakeNotifyServer() as wpush:
        wpush.respond(200, {"code": 1001, "message": "apikey invalid", "data": None})
        ran = rig.sync(mapping, env={"WPUSH_KEY": "WPUSHbad", "IMGSYNC_WPUSH_API": wpush.url})
    assert ran.returncode == 0, ran.output
    assert "wpush" in ran.stdout and "apikey invalid" in ran.stdout
    assert ran.report is not None
    assert ran.report["notifications"] == [
        {"channel": "wpush", "ok": False, "detail": ran.report["notifications"][0]["detail"]}
    ]


def test_invalid_mapping_runs_nothing_and_exits_2(rig: Rig) -> None:
    mark = rig.basic.mark()
    ran = rig.sync(f"alpine={rig.basic.host}/ok,Bad=x/y,nginx=$(id)")
    assert ran.returncode == 2
    assert "item 2" in ran.stderr and "item 3" in ran.stderr
    assert rig.basic.requests(mark) == []
    assert ran.report is None


def test_markdown_summary_goes_to_file_and_github_step_summary(rig: Rig) -> None:
    rig.seed(rig.anon, "1")
    step_summary = rig.tmp_path / "step_summary.md"
    step_summary.write_text("# earlier step\n")
    markdown = rig.tmp_path / "summary.md"
    mapping = f"{rig.anon.host}/{rig.repo}:1={rig.basic.host}/{rig.repo}"
    ran = rig.sync(
        "--summary-markdown", str(markdown), mapping, env={"GITHUB_STEP_SUMMARY": str(step_summary)}
    )
    assert ran.returncode == 0, ran.output
    table = markdown.read_text()
    assert "| synced |" in table.lower() or "synced" in table
    assert f"{rig.basic.host}/{rig.repo}:1" in table
    assert step_summary.read_text().startswith("# earlier step\n")
    assert table.strip() in step_summary.read_text()
