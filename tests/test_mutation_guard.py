"""CI's small fixed mutation run: the unit tests must catch the pipeline's worst regressions.

``make mutation`` runs mutmut over every mutant of ``core/pipeline.py``,
``core/subset.py`` and ``core/platforms.py`` (a minute or two; see docs/testing.md).
This test keeps a guard in every CI run for a few seconds: it breaks each key
decision on purpose (the compare, the verify, the immutable skip, deferred vs
failed, the pinned copy, the dry run), in a scratch copy of the package, and
asserts the fast unit tests fail. If a mutant's text no longer exists, the code
moved: update the mutant here, do not delete it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNIT_TESTS = (
    "tests/test_pipeline_unit.py",
    "tests/test_subset_unit.py",
    "tests/test_conversion_unit.py",
)


@dataclass(frozen=True)
class Mutant:
    """Replace ``original`` (present exactly once in ``module``) by ``mutated``."""

    name: str
    module: str
    original: str
    mutated: str


PIPELINE, SUBSET = "core/pipeline.py", "core/subset.py"
CONVERTING, FORMATS = "core/converting.py", "core/manifest_format.py"
MUTANTS = (
    Mutant(
        "compare flipped",
        PIPELINE,
        "if destination_digest == source_digest:",
        "if destination_digest != source_digest:",
    ),
    Mutant(
        "verify flipped", PIPELINE, "if written == source_digest:", "if written != source_digest:"
    ),
    Mutant(
        "verify skipped",
        PIPELINE,
        "_recorded(_verify(item, registry, source_digest), item, copier)",
        "_recorded(StepResult(Status.SYNCED, source_digest, source_digest), item, copier)",
    ),
    Mutant("immutable skip removed", PIPELINE, "if existing is not None:", "if False:"),
    Mutant(
        "immutable reads the source",
        PIPELINE,
        "if item.immutable:",
        "if item.immutable and registry.head_digest(item.source):",
    ),
    Mutant(
        "deferred becomes failed",
        PIPELINE,
        "StepResult(Status.DEFERRED, source_digest,",
        "StepResult(Status.FAILED, source_digest,",
    ),
    Mutant(
        "subset deferred becomes failed",
        PIPELINE,
        "StepResult(Status.DEFERRED, error=",
        "StepResult(Status.FAILED, error=",
    ),
    Mutant("missing source ignored", PIPELINE, "if source_digest is None:", "if False:"),
    Mutant(
        "copy not pinned",
        PIPELINE,
        "copier.copy(pinned, item.destination)",
        "copier.copy(item.source, item.destination)",
    ),
    Mutant("dry run copies", PIPELINE, "    if dry_run:", "    if False:"),
    Mutant(
        "subset verify flipped",
        SUBSET,
        "if written == index.digest:",
        "if written != index.digest:",
    ),
    Mutant(
        "subset built-from skip negated",
        SUBSET,
        "if current is not None and built_from(",
        "if current is not None and not built_from(",
    ),
    Mutant(
        "subset same-content skip removed",
        SUBSET,
        "if current is not None and same_content(",
        "if False and same_content(",
    ),
    Mutant(
        "converted skip ignores the record",
        CONVERTING,
        "registry.head_digest(step.record) == written",
        "registry.head_digest(step.record) is None",
    ),
    Mutant("converted copy not verified", CONVERTING, "    if wrong:\n", "    if False:\n"),
    Mutant(
        "refused shape kept",
        FORMATS,
        "            return self.converts_to\n",
        "            return Format.KEEP\n",
    ),
    Mutant(
        "record written before the check",
        CONVERTING,
        "    step.registry.put_manifest(step.record, written)\n    return StepResult(",
        "    return StepResult(",
    ),
)


def unit_tests_pass(package_root: Path) -> subprocess.CompletedProcess[str]:
    """Run the fast unit tests against the ``imgsync`` package under ``package_root``.

    Without conftest and the heavier plugins a run costs well under a second: the unit
    tests need no fixture of the rig.
    """
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    argv = [sys.executable, "-m", "pytest", "-x", "-q", "--noconftest", *UNIT_TESTS]
    argv += ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:timeout"]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def mutated_copy(mutant: Mutant, scratch: Path) -> Path:
    """A copy of ``src/imgsync`` under ``scratch`` with ``mutant`` applied."""
    package = scratch / "imgsync"
    shutil.copytree(ROOT / "src" / "imgsync", package, ignore=shutil.ignore_patterns("__pycache__"))
    target = package / mutant.module
    source = target.read_text()
    assert source.count(mutant.original) == 1, f"{mutant.name}: {mutant.original!r} moved"
    target.write_text(source.replace(mutant.original, mutant.mutated))
    return scratch


def test_the_unmutated_copy_passes_so_a_failure_below_means_a_kill(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "imgsync", tmp_path / "imgsync")
    run = unit_tests_pass(tmp_path)

    assert run.returncode == 0, run.stdout + run.stderr


def test_the_unit_tests_kill_every_fixed_mutant(tmp_path: Path) -> None:
    scratches = [mutated_copy(m, tmp_path / str(i)) for i, m in enumerate(MUTANTS)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(unit_tests_pass, scratches))

    survivors = [m.name for m, run in zip(MUTANTS, runs, strict=True) if run.returncode != 1]
    assert survivors == [], "these mutants survived (or broke collection): " + ", ".join(survivors)
