"""imgsync: mirror container images between registries, skipping what did not change."""

#: The one place the version is written; ``pyproject.toml`` reads it from here
#: (reading it back from the installed metadata slows every start-up: docs/benchmarks.md,
#: Findings 4).
__version__ = "0.1.0"

__all__ = ["__version__"]
