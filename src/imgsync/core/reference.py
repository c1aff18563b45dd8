"""Image references as a frozen value object; parsing lives in :mod:`imgsync.core.refparse`."""

from __future__ import annotations

from dataclasses import dataclass

from imgsync.core.refgrammar import (
    GrammarViolation,
    check_digest,
    check_host,
    check_path,
    check_tag,
)
from imgsync.errors import InvalidReference

DOCKER_HUB = "docker.io"


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A fully qualified image reference: ``registry/repository[:tag][@digest]``.

    ``registry`` is the host as written (``docker.io`` for Docker Hub), ``repository``
    carries ``library/`` for official Docker Hub images once parsed. Every field is
    checked against the grammar when the object is built, ``dataclasses.replace``
    included, so a reference that exists is one skopeo and a registry accept.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __post_init__(self) -> None:
        try:
            _check_fields(self.registry, self.repository, self.tag, self.digest)
        except GrammarViolation as exc:
            raise InvalidReference(_unchecked_text(self), str(exc)) from None

    def __str__(self) -> str:
        return _unchecked_text(self)

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
        return ImageReference(self.registry, self.repository, tag, None)

    def with_digest(self, digest: str) -> ImageReference:
        """The same repository pinned by ``digest`` (and no tag): what a copy by digest names."""
        return ImageReference(self.registry, self.repository, None, digest)

    @property
    def short_path(self) -> str:
        """The repository path without Docker Hub's ``library/`` prefix."""
        if self.registry == DOCKER_HUB and self.repository.startswith("library/"):
            return self.repository.removeprefix("library/")
        return self.repository


def _check_fields(registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    check_host(registry)
    check_path(repository)
    if tag is not None:
        check_tag(tag)
    if digest is not None:
        check_digest(digest)


def _unchecked_text(ref: ImageReference) -> str:
    """The written form, also for the error about a reference that failed its checks."""
    text = f"{ref.registry}/{ref.repository}"
    if ref.tag is not None:
        text += f":{ref.tag}"
    if ref.digest is not None:
        text += f"@{ref.digest}"
    return text
