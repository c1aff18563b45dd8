"""How ``imgsync validate`` shows a plan: one line (or JSON object) per item, then the prunes."""

from __future__ import annotations

from typing import Any

from imgsync.core.plan import Plan


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
