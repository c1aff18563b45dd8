"""Azure Container Registry (``NAME.azurecr.io``).

- A manifest whose type the ``Accept`` list lacks answers 404 ``MANIFEST_UNKNOWN``:
  "OCI index found, but accept header does not support OCI indexes"
  (Azure/azure-cli#25280, Azure/acr-cli#132), "OCI manifest found, but accept header
  does not support OCI manifests" (Azure/acr#764) and "OCI artifact found, but accept
  header does not support OCI artifacts" (Azure/azure-cli#24976). Authentication is
  left out (anonymous pull, an ACR option).
"""

from __future__ import annotations

from collections.abc import Sequence

from .behaviours import accept_must_cover
from .proxy import Personality, Rule


class Azure(Personality):
    name = "azure"

    def build_rules(self) -> Sequence[Rule]:
        return [accept_must_cover()]
