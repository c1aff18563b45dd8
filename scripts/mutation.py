"""``make mutation``: mutmut over the pipeline's decisions; exits 1 if any mutant survives.

mutmut mutates every expression of the modules below and runs the fast unit tests
against each mutant. It works in a scratch copy of the project (``src/``,
``tests/``, ``pyproject.toml`` plus the ``[tool.mutmut]`` table here), so a run is
always complete, the working tree gets no ``mutants/`` folder, and the scope lives
in one place. ``--keep`` leaves the copy for ``mutmut browse`` / ``mutmut show``.
See docs/testing.md for the score and what each module's mutants cover.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTATED = (
    "pipeline.py",
    "subset.py",
    "platforms.py",
    "converting.py",
    "manifest_format.py",
    "conversion_check.py",
)
UNIT_TESTS = (
    "tests/test_pipeline_unit.py",
    "tests/test_subset_unit.py",
    "tests/test_conversion_unit.py",
    "tests/test_missing_destination_unit.py",  # the pipeline's push-check hook
)
# The unit tests need no rig fixture: skipping conftest and heavy plugins halves each run.
PYTEST_ARGS = ("--noconftest", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")
#: Mutants that cannot change behaviour, each with the reason (docs/testing.md lists them).
#: Names are positional: if the function changes, a survivor gets a new name and fails the
#: run until someone looks at it again, which is the point.
EQUIVALENT = {
    "imgsync.core.platforms.x__entry_platforms__mutmut_23": (
        'architecture None instead of "" for an entry without one: Platform.__str__ drops'
        " empty parts either way, and the list is only ever printed"
    ),
    "imgsync.core.platforms.x__entry_platforms__mutmut_25": (
        'architecture None instead of "" (get() without a default): same as mutant 23'
    ),
}


def mutmut_table() -> str:
    """The ``[tool.mutmut]`` table appended to the scratch copy's pyproject.toml."""
    only = [f"src/imgsync/core/{name}" for name in MUTATED]
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["src/"]\n'
        f"only_mutate = {json.dumps(only)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(list(UNIT_TESTS))}\n"
        f"pytest_add_cli_args = {json.dumps(list(PYTEST_ARGS))}\n"
    )


def scratch_copy() -> Path:
    """The project's sources and tests in a fresh directory, configured for mutmut."""
    scratch = Path(tempfile.mkdtemp(prefix="imgsync-mutation-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("src", "tests"):
        shutil.copytree(ROOT / folder, scratch / folder, ignore=ignore)
    pyproject = (ROOT / "pyproject.toml").read_text() + mutmut_table()
    (scratch / "pyproject.toml").write_text(pyproject)
    return scratch


def mutmut(scratch: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the mutmut installed beside this interpreter (``pip install -e .[mutation]``)."""
    binary = Path(sys.executable).with_name("mutmut")
    argv = [str(binary), *args]
    return subprocess.run(argv, check=False, cwd=scratch, text=True, capture_output=True)


def report(scratch: Path) -> int:
    """Print the score and every mutant not killed (with its diff); 1 if there is one."""
    mutmut(scratch, "export-cicd-stats")
    stats = json.loads((scratch / "mutants" / "mutmut-cicd-stats.json").read_text())
    print(f"mutmut: {stats['killed']} of {stats['total']} mutants killed in {', '.join(MUTATED)}")
    lines = [line.strip() for line in mutmut(scratch, "results").stdout.splitlines()]
    unexplained = [line for line in lines if line and line.split(":")[0] not in EQUIVALENT]
    for name, reason in EQUIVALENT.items():
        print(f"  equivalent, not killable: {name}: {reason}")
    for line in unexplained:
        print(f"\n{line}\n{mutmut(scratch, 'show', line.split(':')[0]).stdout}")
    return 1 if unexplained or not stats["total"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    keep = parser.parse_args(argv).keep
    scratch = scratch_copy()
    try:
        run = mutmut(scratch, "run")
        if run.returncode != 0:
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
            return 2
        return report(scratch)
    finally:
        if keep:
            print(f"scratch copy kept: {scratch} (cd there: mutmut browse)")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
