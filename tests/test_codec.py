"""The one decoding path: every value that crosses a process comes back equal, garbage is refused.

Pure and fast: no Redis, no worker. What Redis and Celery carry is JSON text or the
objects JSON parsing made, so that is exactly what these tests feed the codec.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from imgsync.adapters.runstore import RunPlan
from imgsync.core.codec import SHOWN_CHARS, _adapter, decode, decode_json, encode, encode_json
from imgsync.core.item import SyncItem
from imgsync.core.plan import PruneOrder, PruneTarget
from imgsync.core.platforms import Platform
from imgsync.core.quota import AccountQuota
from imgsync.core.reference import ImageReference
from imgsync.core.result import (
    Category,
    ChannelDelivery,
    ErrorInfo,
    QuotaUsage,
    RunReport,
    Status,
    SyncResult,
)
from imgsync.errors import DecodeError, InputError

DIGEST = "sha256:" + "ab" * 32
SCHEMA = json.loads((Path(__file__).parent / "data" / "report.schema.json").read_text())
NGINX = ImageReference("docker.io", "library/nginx", "1.25")
MIRROR = ImageReference("r.example.com", "m/nginx", "1.25")
SYNCED = SyncResult(
    "docker.io/library/nginx:1.25", "r.example.com/m/nginx:1.25", Status.SYNCED, DIGEST, DIGEST
)
FAILED = SyncResult(
    "docker.io/library/a:1",
    "r.example.com/m/a:1",
    Status.FAILED,
    error=ErrorInfo(Category.NETWORK, "connection reset"),
    attempts=3,
    duration_s=1.25,
    worker="imgsync@host",
    pulls=2,
)
QUOTA = QuotaUsage(
    "docker.io", 4, 0, 96, 100, ({"account": "alice", "remaining": 96, "limit": 100},)
)
REPORT = RunReport(
    "3ee08ea0315b4bbf",
    "celery",
    "2026-11-29T05:20:59+00:00",
    "2026-11-29T05:21:03+00:00",
    (SYNCED, FAILED),
    notifications=(ChannelDelivery("wpush", True),),
    quota=(QUOTA,),
)
PRUNE = PruneTarget(
    ImageReference("r.example.com", "m/nginx"), frozenset({"1.25", "1.24"}), "nginx"
)
ITEM_WITH_OPTIONS = SyncItem(
    NGINX, MIRROR, (Platform("linux", "amd64"), Platform("linux", "arm", "v7")), True, True
)
PLAN = RunPlan(
    "run1", "2026-11-29T05:20:59+00:00", (ITEM_WITH_OPTIONS.to_dict(),), ("t1",), "body", True
)

ROUND_TRIPS = [
    pytest.param(SYNCED, id="result-synced"),
    pytest.param(FAILED, id="result-failed-with-pulls"),
    pytest.param(ErrorInfo(Category.DIGEST_MISMATCH, "wrote sha256:…"), id="error-info"),
    pytest.param(QUOTA, id="quota-usage"),
    pytest.param(REPORT, id="report"),
    pytest.param(
        RunReport("r", "embedded", "2026-01-01T00:00:00", "2026-01-01T00:00:01", ()),
        id="empty-report",
    ),
    pytest.param(SyncItem(NGINX, MIRROR), id="item-plain"),
    pytest.param(ITEM_WITH_OPTIONS, id="item-with-options"),
    pytest.param(PRUNE, id="prune-target"),
    pytest.param(PruneOrder((PRUNE,), dry_run=True), id="prune-order"),
    pytest.param(PLAN, id="run-plan"),
]


@pytest.mark.parametrize("value", ROUND_TRIPS)
def test_every_crossing_type_comes_back_equal_from_parsed_json(value: Any) -> None:
    data = json.loads(json.dumps(encode(value)))
    assert decode(type(value), data) == value


@pytest.mark.parametrize("value", ROUND_TRIPS)
def test_every_crossing_type_comes_back_equal_from_json_text_and_bytes(value: Any) -> None:
    text = encode_json(value)
    assert decode_json(type(value), text) == value
    assert decode_json(type(value), text.encode()) == value


def test_account_quota_from_the_quota_board_round_trips() -> None:
    quota = AccountQuota("docker.io", "alice", 100, 96, 21600, 1764393659.5)
    raw = json.dumps({"registry": "docker.io", "account": "alice", "limit": 100,
                      "remaining": 96, "window_s": 21600, "at": 1764393659.5})  # fmt: skip
    assert decode_json(AccountQuota, raw) == quota


def test_encoded_report_keeps_the_documented_format_and_schema() -> None:
    data = encode(REPORT)
    jsonschema.validate(data, SCHEMA)
    keys = "run_id mode started_at finished_at summary results notifications quota"
    assert list(data) == keys.split()
    assert data["results"][1] == {
        "source": "docker.io/library/a:1",
        "destination": "r.example.com/m/a:1",
        "status": "failed",
        "source_digest": None,
        "destination_digest": None,
        "error": {"category": "network", "message": "connection reset"},
        "attempts": 3,
        "duration_s": 1.25,
        "worker": "imgsync@host",
        "pulls": 2,
    }
    assert "pulls" not in data["results"][0]


def test_item_message_carries_options_only_when_set() -> None:
    assert encode(SyncItem(NGINX, MIRROR)) == {
        "source": "docker.io/library/nginx:1.25",
        "destination": "r.example.com/m/nginx:1.25",
    }
    assert encode(ITEM_WITH_OPTIONS)["platforms"] == ["linux/amd64", "linux/arm/v7"]


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


RESULT = SYNCED.to_dict()
ITEM = SyncItem(NGINX, MIRROR).to_dict()

GARBAGE = [
    pytest.param(
        SyncResult,
        {**RESULT, "attempts": "x"},
        "attempts: Input should be a valid integer (got 'x')",
        id="attempts-text",
    ),
    pytest.param(
        SyncResult,
        {**RESULT, "attempts": "3"},
        "attempts: Input should be a valid integer",
        id="attempts-numeric-text",
    ),
    pytest.param(
        SyncResult,
        {**RESULT, "attempts": True},
        "attempts: Input should be a valid integer (got True)",
        id="attempts-bool",
    ),
    pytest.param(
        SyncResult,
        {**RESULT, "status": "bogus"},
        "status: Input should be 'synced'",
        id="unknown-status",
    ),
    pytest.param(
        SyncResult, _without(RESULT, "destination"), "destination: missing", id="missing-field"
    ),
    pytest.param(
        SyncResult,
        {**RESULT, "error": "boom"},
        "error: Input should be an object (got 'boom')",
        id="error-not-object",
    ),
    pytest.param(
        SyncResult,
        {**RESULT, "error": {"category": "input"}},
        "error.message: missing",
        id="error-half",
    ),
    pytest.param(
        SyncResult,
        {**RESULT, "error": {"category": "notify", "message": "m"}},
        "error.category: Input should be 'auth'",
        id="unknown-category",
    ),
    pytest.param(
        SyncResult,
        [RESULT],
        "(top level): Input should be an object (got a list)",
        id="list-for-object",
    ),
    pytest.param(
        RunReport,
        {**REPORT.to_dict(), "results": RESULT},
        "results: Input should be a valid array (got an object)",
        id="results-not-list",
    ),
    pytest.param(
        RunReport,
        {**REPORT.to_dict(), "results": [RESULT, {**RESULT, "duration_s": "slow"}]},
        "results.1.duration_s: Input should be a valid number",
        id="nested-path",
    ),
    pytest.param(
        SyncItem,
        {**ITEM, "source": "Nginx"},
        "source: invalid image reference 'Nginx'",
        id="bad-source-reference",
    ),
    pytest.param(
        SyncItem,
        {**ITEM, "destination": "r.io/n"},
        "a destination needs a tag and no digest",
        id="untagged-destination",
    ),
    pytest.param(
        SyncItem,
        {**ITEM, "destination": f"r.io/n@{DIGEST}"},
        "a destination needs a tag and no digest",
        id="digest-destination",
    ),
    pytest.param(
        SyncItem,
        {**ITEM, "source": "nginx; rm -rf /"},
        "source: invalid image reference",
        id="shell-in-reference",
    ),
    pytest.param(
        SyncItem,
        {**ITEM, "platforms": ["linux"]},
        "platforms.0: platform 'linux' must be",
        id="bad-platform",
    ),
    pytest.param(
        SyncItem,
        {**ITEM, "platforms": []},
        "platforms must be left out or list at least one",
        id="empty-platforms",
    ),
    pytest.param(
        SyncItem,
        {**ITEM, "platforms": "linux/amd64"},
        "platforms: Input should be a valid array",
        id="platforms-text",
    ),
    pytest.param(
        SyncItem,
        {**ITEM, "immutable": "yes"},
        "immutable: Input should be a valid boolean (got 'yes')",
        id="bool-text",
    ),
    pytest.param(
        PruneTarget,
        {"repository": "R.io/Bad", "keep": [], "source": "s"},
        "repository: invalid image reference",
        id="bad-prune-repository",
    ),
    pytest.param(
        PruneOrder,
        {"targets": [{"repository": "r.io/m/n", "keep": "1.25", "source": "s"}]},
        "targets.0.keep:",
        id="keep-text",
    ),
    pytest.param(
        RunPlan,
        {**PLAN.to_dict(), "items": [{"source": "a:1"}]},
        "items.0: source and destination must be strings",
        id="plan-item-without-destination",
    ),
    pytest.param(
        RunPlan,
        {**PLAN.to_dict(), "task_ids": [1]},
        "task_ids.0: Input should be a valid string (got 1)",
        id="plan-task-id",
    ),
]


@pytest.mark.parametrize(("kind", "data", "fragment"), GARBAGE)
def test_garbage_is_refused_naming_the_field(kind: type, data: Any, fragment: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(kind, data)
    assert str(caught.value).startswith(f"cannot read {kind.__name__}: ")
    assert fragment in str(caught.value)


def test_a_decode_error_is_an_input_error_listing_every_problem() -> None:
    with pytest.raises(DecodeError) as caught:
        decode(SyncResult, {**RESULT, "attempts": "x", "status": "bogus"})
    assert isinstance(caught.value, InputError)
    assert caught.value.kind == "SyncResult"
    assert [p.split(":")[0] for p in caught.value.problems] == ["status", "attempts"]


def test_garbage_json_text_is_refused_too() -> None:
    with pytest.raises(DecodeError, match=r"cannot read RunReport: \(top level\): Invalid JSON"):
        decode_json(RunReport, b"{not json")


def test_data_that_is_not_json_is_refused() -> None:
    with pytest.raises(DecodeError, match="not JSON data"):
        decode(SyncResult, {**RESULT, "worker": object()})


def test_an_error_never_prints_the_payload_or_a_long_value() -> None:
    secret = "token=s3cr3t-do-not-print"
    data = _without(RESULT, "status") | {"worker": secret}
    with pytest.raises(DecodeError) as caught:
        decode(SyncResult, {**data, "source": ["x" * 500]})
    message = str(caught.value)
    assert "status: missing" in message and "source: " in message
    assert "s3cr3t" not in message and "x" * (SHOWN_CHARS + 1) not in message
    with pytest.raises(DecodeError) as caught:
        decode(SyncResult, {**RESULT, "attempts": "y" * 500})
    assert "y" * SHOWN_CHARS not in str(caught.value) and "…" in str(caught.value)


def test_each_adapter_is_built_once() -> None:
    assert _adapter(RunReport) is _adapter(RunReport)


def test_reading_modules_do_not_import_pydantic_until_something_is_decoded() -> None:
    probe = (
        "import sys, imgsync.core.codec, imgsync.core.item, imgsync.core.plan, imgsync.core.result;"
        "print('pydantic' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "False"
