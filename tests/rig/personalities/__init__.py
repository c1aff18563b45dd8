"""Registry personalities: proxies in front of a real docker-registry that answer as
Docker Hub, GHCR, ECR, GCR/GAR, Quay, Nexus, Artifactory, Harbor, Azure, GitLab, Huawei
SWR, zot and legacy registries do.

:mod:`.proxy` is the one request-rewriting proxy they share; each module is that
registry's table of rules, with the public source of every behaviour in its docstring.
:func:`start` builds one by name; :mod:`.fixtures` has the pytest fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..registry import Registry
from .acr import Acr
from .artifactory import Artifactory
from .azure import Azure
from .dockerhub import DockerHub
from .ecr import Ecr
from .gar import Gar
from .ghcr import Ghcr
from .gitlab import GitLab
from .harbor import Harbor
from .legacy import Legacy, LegacyForbidden
from .nexus import Nexus, NexusConnector
from .proxy import Personality
from .quay import Quay
from .swr import Swr
from .zot import Zot

PERSONALITIES: dict[str, type[Personality]] = {
    cls.name: cls
    for cls in (
        Acr,
        Artifactory,
        Azure,
        DockerHub,
        Ecr,
        Gar,
        Ghcr,
        GitLab,
        Harbor,
        Legacy,
        LegacyForbidden,
        Nexus,
        NexusConnector,
        Quay,
        Swr,
        Zot,
    )
}


def start(name: str, upstream: Registry, workdir: Path, **options: Any) -> Personality:
    """A started personality ``name`` in front of ``upstream`` (stop it when done)."""
    try:
        kind = PERSONALITIES[name]
    except KeyError:
        raise ValueError(f"unknown personality {name!r}; known: {sorted(PERSONALITIES)}") from None
    return kind(upstream, workdir, **options).start()


__all__ = ["PERSONALITIES", "Personality", "start"]
