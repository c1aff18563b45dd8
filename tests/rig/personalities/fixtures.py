"""pytest fixtures for personalities; import them into a test module to use them.

``from tests.rig.personalities.fixtures import personality_fixture  # noqa: F401`` gives
the fixture ``personality``, a factory:
``personality("dockerhub", limit=5, accounts={"tester": "pw"})`` returns a started
:class:`~.proxy.Personality` in front of the session's anonymous ``anon_registry``
(tests/conftest.py), stopped when the test ends. Personalities are cheap (a thread and
a port); the registry behind them is shared, so use unique repository names (the
``unique_repo`` fixture).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..binaries import need_binary
from ..registry import Registry
from . import start
from .proxy import Personality

PersonalityFactory = Callable[..., Personality]


@pytest.fixture(name="personality")
def personality_fixture(anon_registry: Registry, tmp_path: Path) -> Iterator[PersonalityFactory]:
    """Factory: ``personality(name, **options)`` → a started personality."""
    need_binary("skopeo")
    started: list[Personality] = []

    def _start(name: str, **options: Any) -> Personality:
        workdir = tmp_path / f"personality-{name}-{len(started)}"
        workdir.mkdir()
        started.append(start(name, anon_registry, workdir, **options))
        return started[-1]

    yield _start
    for proxy in started:
        proxy.stop()
