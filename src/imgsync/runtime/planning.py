"""Build a run's plan: the sync file's rules expanded (reading catalogs and tag lists where
needed) plus mappings.

The expansion needs the registries (tag lists) and so lives here, beside the
adapters; the rules themselves are pure (:mod:`imgsync.core.plan`). Both the
``validate`` and the ``sync`` commands call it, so what ``validate --config``
prints is exactly what ``sync`` will run.
"""

from __future__ import annotations

from collections.abc import Sequence

from imgsync.config.settings import Settings
from imgsync.config.syncload import SyncFile
from imgsync.core.catalog import expand_catalogs
from imgsync.core.item import SyncItem
from imgsync.core.plan import Plan, expand
from imgsync.runtime.services import build_services


def build_plan(sync_file: SyncFile | None, extra: Sequence[SyncItem], settings: Settings) -> Plan:
    """The file's items (catalogs read once per registry, tag lists once per filtered image)
    then ``extra``; all validated."""
    if sync_file is None:
        return Plan(tuple(extra))
    services = build_services(settings)
    try:
        rules = expand_catalogs(sync_file.rules, services.registry.list_repositories)
        return expand(
            rules,
            list_tags=services.registry.list_tags,
            dockerhub_user=settings.dockerhub_username,
            dest_prefix=settings.dest_prefix,
            dest_rules=sync_file.entry_rules(settings.dest_template),
            extra=extra,
        )
    finally:
        services.close()
