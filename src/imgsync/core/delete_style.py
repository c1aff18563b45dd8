"""How a registry deletes a tag (prune), by name: the values of a profile's ``deletes``.

Why a name per behaviour: registries disagree about the one delete call the registry
API has, and the wrong guess costs either a failed prune or, worse, kept tags. The
OCI distribution spec 1.1 deletes a *tag* (``DELETE /v2/<name>/manifests/<tag>``,
optional for registries); docker-registry 2.8 refuses that (400 ``DIGEST_INVALID``)
and deletes only by digest, which takes every tag on the digest with it; GAR refuses a
digest that still has tags (400 ``GOOGLE_MANIFEST_DANGLING_TAG``, genuinetools/reg#136);
Docker Hub deletes only untagged manifests (403 otherwise, docs.docker.com registry API
``DeleteImageManifest``); GHCR answers every manifest DELETE with 405 ``UNSUPPORTED``
(containers/skopeo#1880). The style is resolved from the destination's profile when
the plan is made and travels with the prune target, so a Celery worker needs no file.
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import quote


class DeleteStyle(StrEnum):
    """The values of ``deletes`` (profiles and ``registries: {HOST: {deletes}}``)."""

    #: OCI 1.1 tag delete first; where the registry refuses it, delete by digest (guarded).
    TAG_THEN_DIGEST = "tag-then-digest"
    #: Delete the tag, then its manifest once no tag is left on it (GAR, GCR).
    TAG_BEFORE_DIGEST = "tag-before-digest"
    #: Delete by digest only, never by tag (a registry whose tag delete is not to be trusted).
    DIGEST = "digest"
    #: The registry API deletes only untagged manifests: a tag cannot go (Docker Hub).
    UNTAGGED_ONLY = "untagged-only"
    #: No delete in the registry API at all: the vendor's packages API does it (GHCR).
    PACKAGES_API = "packages-api"


#: What each style does, in the words the docs and ``--help`` use.
MEANINGS: dict[DeleteStyle, str] = {
    DeleteStyle.TAG_THEN_DIGEST: (
        "delete the tag (OCI 1.1); where the registry refuses tag deletes, delete by digest "
        "unless a kept tag shares it"
    ),
    DeleteStyle.TAG_BEFORE_DIGEST: "delete the tag, then its manifest once no tag is left on it",
    DeleteStyle.DIGEST: "delete by digest only, unless a kept tag shares it",
    DeleteStyle.UNTAGGED_ONLY: "tags cannot be deleted through the registry API (unsupported)",
    DeleteStyle.PACKAGES_API: "no registry API delete at all (unsupported)",
}


def parse_delete_style(text: str) -> DeleteStyle:
    """A style by its name, or ValueError listing the names."""
    try:
        return DeleteStyle(text)
    except ValueError:
        known = ", ".join(style.value for style in DeleteStyle)
        raise ValueError(f"unknown delete style {text!r} (known: {known})") from None


def tries_tag_delete(style: DeleteStyle) -> bool:
    """Whether a prune sends ``DELETE …/manifests/<tag>`` first."""
    return style in (DeleteStyle.TAG_THEN_DIGEST, DeleteStyle.TAG_BEFORE_DIGEST)


def digest_after_tag(style: DeleteStyle) -> bool:
    """Whether the untagged manifest is deleted too once its last tag went (GAR)."""
    return style is DeleteStyle.TAG_BEFORE_DIGEST


def falls_back_to_digest(style: DeleteStyle) -> bool:
    """Whether a refused tag delete is followed by a (guarded) digest delete."""
    return style is DeleteStyle.TAG_THEN_DIGEST


def unsupported(style: DeleteStyle, repository: str, tag: str) -> str | None:
    """Why ``repository:tag`` cannot be pruned through the registry API, naming the
    registry's own API; None when the style can delete it."""
    if style is DeleteStyle.UNTAGGED_ONLY:
        namespace, _, name = repository.rpartition("/")
        return (
            "Docker Hub's registry API deletes only untagged manifests (403 for a tagged one): "
            "delete the tag through the Hub API (DELETE https://hub.docker.com/v2/"
            f"repositories/{namespace or 'library'}/{name}/tags/{tag}/, docker/hub-feedback#1759)"
        )
    if style is DeleteStyle.PACKAGES_API:
        owner, _, name = repository.partition("/")
        return (
            "GHCR deletes only through the GitHub packages API (manifest DELETE answers 405): "
            f"DELETE /user|orgs/{owner}/packages/container/{quote(name or owner, safe='')}"
            "/versions/{id} with a token that has delete:packages"
        )
    return None
