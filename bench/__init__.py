"""imgsync benchmarks: imgsync against the original bash loop and ``skopeo sync`` under WAN latency.

Run ``python -m bench`` (``--help`` for the knobs). Everything runs on loopback: real
``docker-registry`` processes behind latency-injecting TLS proxies, so every tool pays
the round trips users pay on the internet.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:  # the harness reuses the test rig (``tests.rig``) from the source tree
    sys.path.insert(0, _ROOT)
