"""How ``imgsync validate`` shows a plan: one line (or JSON object) per item, then the prunes."""

from __future__ import annotations

from typing import Any

from imgsync.core.plan import Plan

#: The ``sync`` options that ``validate`` lacks, at their "not given" values.
NO_RUN_OPTIONS: dict[str, Any] = {
    "concurrency": None,
    "check_concurrency": None,
    "insecure_registry": (),
    "authfile": None,
    "notify": (),
    "notify_on": None,
    "broker": None,
    "rate_limit_min": (),
    "with_signatures": False,
}


def plan_lines(plan: Plan) -> list[str]:
    """``src -> dst`` per item (options in brackets), then ``prune repo (keeps N tags)``."""
    lines = [item.describe() for item in plan.items]
    for target in plan.prune:
        kept = len(target.keep)
        lines.append(f"prune {target.repository.name}: tags other than these {kept} are deleted")
    return lines


def plan_json(plan: Plan) -> list[dict[str, Any]]:
    """The items' task-message form; prune targets follow as ``{"prune": repo, "keep": [...]}``."""
    items = [item.to_dict() for item in plan.items]
    prunes = [{"prune": t.repository.name, "keep": sorted(t.keep)} for t in plan.prune]
    return items + prunes
