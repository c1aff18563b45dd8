"""Every branch of ``sync_item`` on in-memory fakes: no registry, no skopeo, no sleeps.

The real-registry tests show the pipeline works end to end; these show that each
decision (compare, verify, immutable skip, deferred, error categories) is the one
the code claims, fast enough to run under mutation testing (``make mutation``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from imgsync.core.item import SyncItem
from imgsync.core.pipeline import sync_item
from imgsync.core.reference import ImageReference
from imgsync.core.result import Category, Status, SyncResult
from imgsync.errors import AuthError, CopyError, NotFound, QuotaExhausted, RateLimited
from tests.fakes import (
    FakeClock,
    FakeCopier,
    FakeEstimator,
    FakeRegistry,
    Lands,
    digest_of,
    pinned,
)

SRC = ImageReference("src.example", "team/app", "1")
DST = ImageReference("dst.example", "mirror/app", "1")
A, B, C = digest_of("a"), digest_of("b"), digest_of("c")
PULLS = 3


class SoftTimeLimitExceeded(Exception):
    """Celery's soft time limit, recognised by name (the core never imports celery)."""


class TimeLimitExceeded(Exception):
    """Celery's hard time limit, recognised by name."""


@dataclass(frozen=True)
class Case:
    """One row: what the registries hold, how the copy behaves, what the result must be."""

    source: str | None
    destination: str | None
    status: Status
    digests: tuple[str | None, str | None]
    category: str | None = None
    copies: int = 0
    immutable: bool = False
    dry_run: bool = False
    lands: Lands | str = Lands.AS_SENT
    raises: BaseException | None = None
    message: str = ""


@dataclass
class Run:
    """A finished ``sync_item`` call and the fakes it talked to."""

    result: SyncResult
    registry: FakeRegistry
    copier: FakeCopier
    estimator: FakeEstimator


def run(case: Case, *, worker: str = "", attempts: int = 1) -> Run:
    """Seed a fake registry from ``case`` and sync one item through it."""
    registry = FakeRegistry()
    for ref, digest in ((SRC, case.source), (DST, case.destination)):
        if digest is not None:
            registry.digests[str(ref)] = digest
    copier = FakeCopier(registry, lands=case.lands, raises=case.raises)
    meter = FakeEstimator(PULLS)
    item = SyncItem(SRC, DST, immutable=case.immutable)
    result = sync_item(
        item,
        registry=registry,
        copier=copier,
        dry_run=case.dry_run,
        estimator=meter,
        clock=FakeClock([10.0, 11.0]),
        worker=worker,
        attempts=attempts,
    )
    return Run(result, registry, copier, meter)


CASES = {
    "equal digests are skipped": Case(A, A, Status.SKIPPED, (A, A)),
    "a changed source is copied and verified": Case(A, B, Status.SYNCED, (A, A), copies=1),
    "a missing destination is copied and verified": Case(A, None, Status.SYNCED, (A, A), copies=1),
    "a copy that leaves another digest fails verify": Case(
        A, B, Status.FAILED, (A, C), Category.DIGEST_MISMATCH, copies=1, lands=C, message=C
    ),
    "a copy that leaves the old digest fails verify": Case(
        A, B, Status.FAILED, (A, B), Category.DIGEST_MISMATCH, copies=1, lands=Lands.NOTHING
    ),
    "a copy that leaves nothing fails verify": Case(
        A, None, Status.FAILED, (A, None), Category.DIGEST_MISMATCH, 1, lands=Lands.NOTHING
    ),
    "a missing source fails as not found": Case(
        None, B, Status.FAILED, (None, None), Category.NOT_FOUND, message=str(SRC)
    ),
    "a missing source and destination fail as not found": Case(
        None, None, Status.FAILED, (None, None), Category.NOT_FOUND
    ),
    "an immutable tag present is skipped": Case(A, B, Status.SKIPPED, (None, B), immutable=True),
    "an immutable tag absent is copied": Case(
        A, None, Status.SYNCED, (A, A), copies=1, immutable=True
    ),
    "an immutable tag absent with no source fails": Case(
        None, None, Status.FAILED, (None, None), Category.NOT_FOUND, immutable=True
    ),
    "a dry run reports what would be copied": Case(A, B, Status.WOULD_SYNC, (A, B), dry_run=True),
    "a dry run of equal digests is skipped": Case(A, A, Status.SKIPPED, (A, A), dry_run=True),
    "a spent quota defers the copy": Case(
        A, B, Status.DEFERRED, (A, B), Category.RATE_LIMITED, 1, raises=QuotaExhausted("spent")
    ),
    "an unexpected exception fails as other": Case(
        A, B, Status.FAILED, (None, None), Category.OTHER, 1, raises=RuntimeError("boom")
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_sync_item_ends_each_branch_as_the_table_says(case: Case) -> None:
    result = run(case).result

    assert result.status is case.status
    assert (result.source_digest, result.destination_digest) == case.digests
    assert (result.error.category if result.error else None) == case.category
    assert case.message in (result.error.message if result.error else "")


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_sync_item_copies_only_where_the_table_says(case: Case) -> None:
    assert len(run(case).copier.calls) == case.copies


def test_the_copy_is_pinned_to_the_compared_digest_and_carries_no_tag() -> None:
    copier = run(CASES["a changed source is copied and verified"]).copier

    assert copier.calls == [(f"{SRC.name}@{A}", str(DST))]


def test_the_verify_reads_the_destination_again_after_the_copy() -> None:
    registry = run(CASES["a changed source is copied and verified"]).registry

    reads, verify = [("HEAD", str(SRC)), ("HEAD", str(DST))], [("HEAD", str(DST))]
    assert registry.requests == [*reads, ("COPY", str(DST)), *verify]


def test_a_verify_mismatch_names_what_was_found_and_what_was_expected() -> None:
    left_nothing = run(CASES["a copy that leaves nothing fails verify"]).result
    assert left_nothing.error is not None
    assert left_nothing.error.message == f"destination has nothing after the copy, expected {A}"


@pytest.mark.parametrize("source", [A, B, None], ids=["changed", "equal", "missing"])
def test_an_immutable_item_present_at_the_destination_never_asks_the_source(
    source: str | None,
) -> None:
    done = run(Case(source, B, Status.SKIPPED, (None, B), immutable=True))

    assert done.registry.asked_about(SRC) == []
    assert done.registry.requests == [("HEAD", str(DST))]
    assert done.copier.calls == []


def test_a_mutable_item_asks_the_source_even_when_the_destination_exists() -> None:
    done = run(CASES["a changed source is copied and verified"])

    assert done.registry.asked_about(SRC) == [("HEAD", str(SRC))]


def test_a_dry_run_reports_the_estimators_pulls_for_the_pinned_source_and_copies_nothing() -> None:
    done = run(CASES["a dry run reports what would be copied"])

    assert done.result.pulls == PULLS
    assert done.estimator.asked == [str(pinned(SRC, A))]
    assert done.copier.calls == []
    assert done.registry.verbs("PUT") == []


def test_a_copy_reports_the_pulls_it_made_and_a_skip_reports_none() -> None:
    assert run(CASES["a changed source is copied and verified"]).result.pulls == PULLS
    assert run(CASES["a copy that leaves another digest fails verify"]).result.pulls == PULLS
    assert run(CASES["equal digests are skipped"]).result.pulls == 0
    assert run(CASES["a spent quota defers the copy"]).result.pulls == 0


def test_without_an_estimator_a_copy_costs_no_pulls() -> None:
    registry = FakeRegistry({str(SRC): A})
    result = sync_item(SyncItem(SRC, DST), registry=registry, copier=FakeCopier(registry))

    assert (result.status, result.pulls) == (Status.SYNCED, 0)


def test_a_deferred_copy_is_not_retried_within_the_run() -> None:
    result = run(CASES["a spent quota defers the copy"]).result

    assert result.error is not None and result.error.message == "spent"
    assert not result.retryable


@pytest.mark.parametrize(
    ("raised", "category", "message"),
    [
        (RuntimeError("boom"), Category.OTHER, "unexpected RuntimeError: boom"),
        (KeyError("k"), Category.OTHER, "unexpected KeyError: 'k'"),
        (TimeoutError(), Category.TIMEOUT, "time limit exceeded (TimeoutError)"),
        (SoftTimeLimitExceeded(), Category.TIMEOUT, "time limit exceeded (SoftTimeLimitExceeded)"),
        (TimeLimitExceeded(), Category.TIMEOUT, "time limit exceeded (TimeLimitExceeded)"),
        (AuthError("denied"), Category.AUTH, "denied"),
        (NotFound("gone"), Category.NOT_FOUND, "gone"),
        (RateLimited("429"), Category.RATE_LIMITED, "429"),
        (CopyError("reset", category=Category.NETWORK), Category.NETWORK, "reset"),
    ],
)
@pytest.mark.parametrize("where", ["copier", "registry"])
def test_an_exception_fails_only_its_mapping_with_its_category(
    raised: Exception, category: Category, message: str, where: str
) -> None:
    registry = FakeRegistry({str(SRC): A}, fail_with=raised if where == "registry" else None)
    copier = FakeCopier(registry, raises=raised if where == "copier" else None)
    result = sync_item(SyncItem(SRC, DST), registry=registry, copier=copier)

    assert result.status is Status.FAILED
    assert result.error is not None
    assert (result.error.category, result.error.message) == (category, message)


def test_a_spent_quota_defers_wherever_it_is_raised() -> None:
    registry = FakeRegistry({str(SRC): A}, fail_with=QuotaExhausted("spent"))
    result = sync_item(SyncItem(SRC, DST), registry=registry, copier=FakeCopier(registry))

    assert result.status is Status.DEFERRED
    assert result.error is not None and result.error.category == Category.RATE_LIMITED


def test_the_duration_is_the_injected_clocks_difference() -> None:
    registry = FakeRegistry({str(SRC): A, str(DST): A})
    clock = FakeClock([100.0, 102.5])
    result = sync_item(SyncItem(SRC, DST), registry=registry, copier=FakeCopier(), clock=clock)

    assert result.duration_s == 2.5


def test_the_result_names_the_mapping_its_worker_and_its_attempt() -> None:
    result = run(CASES["equal digests are skipped"], worker="w1@host", attempts=2).result

    assert (result.source, result.destination) == (str(SRC), str(DST))
    assert (result.worker, result.attempts) == ("w1@host", 2)


def test_sync_item_counts_one_attempt_by_an_unnamed_worker_unless_told() -> None:
    registry = FakeRegistry({str(SRC): A, str(DST): A})
    result = sync_item(SyncItem(SRC, DST), registry=registry, copier=FakeCopier())

    assert (result.worker, result.attempts) == ("", 1)


def test_each_mapping_logs_one_line_with_its_outcome_duration_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="imgsync.core.pipeline")
    run(CASES["equal digests are skipped"])
    run(CASES["a copy that leaves nothing fails verify"])

    skipped, failed = (record.getMessage() for record in caplog.records)
    assert skipped == f"skipped {SRC} -> {DST} in 1.00s"
    reason = f"digest_mismatch: destination has nothing after the copy, expected {A}"
    assert failed == f"failed {SRC} -> {DST} in 1.00s ({reason})"


def test_an_unexpected_exception_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    boom = RuntimeError("boom")
    run(Case(A, B, Status.FAILED, (None, None), raises=boom))

    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [(r.getMessage(), r.exc_info and r.exc_info[1]) for r in logged] == [
        ("unexpected error", boom)
    ]
