"""A real sync on this machine, in one command (``make demo``).

Starts two local registries — a source with Bearer-token auth like Docker Hub and a
destination with a password — pushes a three-platform test image, runs
``imgsync sync`` twice (a copy, then a skip), prints both summaries and the report
path, and stops what it started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rig.authfile import write_auths  # noqa: E402
from tests.rig.oci import seed  # noqa: E402
from tests.rig.registry import Registry  # noqa: E402

OUT = ROOT / ".demo"


def run_sync(env: dict[str, str], mapping: str, report: Path) -> int:
    """One ``imgsync sync`` run, its output shown as a user would see it."""
    argv = [sys.executable, "-m", "imgsync", "sync", mapping, "--report", str(report)]
    print(f"\n$ imgsync sync {mapping} --report {report}", flush=True)
    return subprocess.run(argv, env=env, check=False).returncode


def demo(work: Path) -> int:
    with (
        Registry("token", workdir=work / "source") as source,
        Registry("htpasswd", workdir=work / "mirror") as mirror,
    ):
        digest = seed(source, "library/demo", "1.0", tmp_path=work)
        print(f"source  {source.host} (token auth)   library/demo:1.0 = {digest}")
        print(f"mirror  {mirror.host} (password auth)")
        auth = work / "auth.json"
        write_auths(auth, {r.host: r.credentials for r in (source, mirror) if r.credentials})
        env = {
            **os.environ,
            "REGISTRY_AUTH_FILE": str(auth),
            "IMGSYNC_INSECURE_REGISTRIES": f"{source.host},{mirror.host}",
        }
        mapping = f"{source.host}/library/demo:1.0={mirror.host}/mirror/demo"
        codes = [run_sync(env, mapping, OUT / f"report-{n}.json") for n in (1, 2)]
    statuses = [json.loads((OUT / f"report-{n}.json").read_text()) for n in (1, 2)]
    print("\nfirst run:", statuses[0]["summary"], "  second run:", statuses[1]["summary"])
    print(f"reports: {OUT}/report-1.json, {OUT}/report-2.json")
    return max(codes)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="imgsync-demo-") as work:
        return demo(Path(work))


if __name__ == "__main__":
    sys.exit(main())
