"""Image references as a frozen value object; parsing lives in :mod:`imgsync.core.refparse`."""

from __future__ import annotations

from dataclasses import dataclass, replace

DOCKER_HUB = "docker.io"


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A fully qualified image reference: ``registry/repository[:tag][@digest]``.

    ``registry`` is normalised (``docker.io`` for Docker Hub, host[:port] otherwise),
    ``repository`` carries ``library/`` for official Docker Hub images.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def manifest_ref(self) -> str:
        """What goes into ``/v2/<repo>/manifests/<ref>``: the digest wins over the tag."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> ImageReference:
        """The same repository at another tag (and no digest)."""
        return replace(self, tag=tag, digest=None)

    @property
    def short_path(self) -> str:
        """The repository path without Docker Hub's ``library/`` prefix."""
        if self.registry == DOCKER_HUB and self.repository.startswith("library/"):
            return self.repository.removeprefix("library/")
        return self.repository
