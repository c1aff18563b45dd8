"""What a registry accepts, known before any request: one table for validate, the pipeline and docs.

Why up front: a registry that refuses ``myns/bitnami/redis`` says so only once skopeo
has started uploading layers, and in words ("requested access to the resource is
denied") that read like a wrong password. A profile lets the plan be checked first.

A profile is data (a frozen dataclass); the built-in table maps host patterns
(``fnmatch``, case-insensitive, port ignored) to profiles; the sync file may pick a
profile by name for any host (``registries: {HOST: {profile: acr-personal}}``, for a
custom domain, a proxy or a test stand-in) and override single fields
(``max_depth``, ``manifest_format``, ``deletes``). Manifest shapes: SWR refuses OCI
indexes ("Invalid image, fail to parse 'manifest.json'", AliyunContainerService/
image-syncer#161); Quay an OCI index of Docker manifests (rabbitmq/rabbitmq-server#9132);
zot stores OCI unless configured for Docker types (zotregistry.dev, articles/docker).

Sources for the built-in rules (``docs/registries.md`` has the table):

- ACR Personal Edition (``registry[-vpc|-intl|-intl-vpc].REGION.aliyuncs.com``,
  ``crpi-*.personal.cr.aliyuncs.com``): ``namespace/repository`` only
  (alibabacloud.com/help/en/acr, terms and "manage namespaces").
- Docker Hub: ``namespace/repository``; Quay.io: ``organization/repository``.
- Tencent TCR Personal (``ccr.ccs.tencentyun.com`` and regional ``*ccr.ccs.tencentyun.com``):
  ``namespace/repository`` (intl.cloud.tencent.com/document/product/1051/35487).
- Huawei SWR (``swr.REGION.myhuaweicloud.com``): an organization, then an image name
  that may itself contain ``/`` (support.huaweicloud.com swr_faq_2006: "an image named
  a/b belongs to organization c"), so no depth limit.
- GHCR, GAR (``*-docker.pkg.dev``), ECR (``*.dkr.ecr.*.amazonaws.com``): nested paths.
- Harbor has no fixed host: ``profile: harbor`` (nested paths under a project).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from imgsync.core.manifest_format import Format, Shape, WritePolicy


@dataclass(frozen=True, slots=True)
class RegistryProfile:
    """A registry's rules; ``name`` is what settings and messages call it."""

    name: str
    title: str
    max_depth: int | None = None  # path components a repository may have; None: any
    #: Manifest shapes the registry refuses to store (core/manifest_format.py).
    refuses: tuple[Shape, ...] = ()
    #: What a refused shape is converted to under ``manifest_format: auto``.
    converts_to: Format = Format.KEEP
    #: The ``manifest_format`` setting (the sync file may set it per registry).
    manifest_format: Format = Format.AUTO
    #: How tags are deleted (prune); the values are defined in core/delete_style.py.
    deletes: str = "tag-then-digest"
    #: What must be created before a first push ("" none; "namespace", "project", …).
    must_exist: str = ""

    def __post_init__(self) -> None:
        if self.max_depth is not None and self.max_depth < 1:
            raise ValueError(f"profile {self.name}: max_depth must be at least 1")

    def write_policy(self, host: str) -> WritePolicy:
        """The manifest-format policy items for ``host`` carry to the workers."""
        where = f"{host} ({self.title}, profile {self.name})"
        return WritePolicy(self.manifest_format, self.refuses, self.converts_to, where)

    def allows_depth(self, repository: str) -> bool:
        return self.max_depth is None or depth(repository) <= self.max_depth

    @property
    def depth_rule(self) -> str:
        """The limit in words: ``namespace/repository only``."""
        if self.max_depth == 1:
            return "one-level repository names only (no '/')"
        if self.max_depth == 2:
            return "namespace/repository only"
        return f"at most {self.max_depth} path levels" if self.max_depth else "any path"


def depth(repository: str) -> int:
    """Path components: ``myns/bitnami/redis`` has 3."""
    return repository.count("/") + 1


ACR_PERSONAL = RegistryProfile(
    "acr-personal", "Aliyun ACR Personal Edition", 2, must_exist="namespace"
)
DOCKER_HUB = RegistryProfile("docker-hub", "Docker Hub", 2, deletes="untagged-only")
QUAY = RegistryProfile("quay", "Quay.io", 2, (Shape.MIXED_INDEX,), Format.DOCKER)
TCR_PERSONAL = RegistryProfile(
    "tcr-personal", "Tencent TCR Personal Edition", 2, must_exist="namespace"
)
SWR = RegistryProfile(
    "swr",
    "Huawei SWR",
    refuses=(Shape.OCI_INDEX, Shape.MIXED_INDEX),
    converts_to=Format.DOCKER,
    must_exist="organization",
)
GHCR = RegistryProfile("ghcr", "GitHub Container Registry", deletes="packages-api")
GAR = RegistryProfile("gar", "Google Artifact Registry", deletes="tag-before-digest")
ECR = RegistryProfile("ecr", "Amazon ECR", must_exist="repository")
HARBOR = RegistryProfile("harbor", "Harbor", must_exist="project")
ZOT = RegistryProfile(
    "zot",
    "zot",
    refuses=(Shape.DOCKER_LIST, Shape.DOCKER_MANIFEST, Shape.MIXED_INDEX),
    converts_to=Format.OCI,
)
GENERIC = RegistryProfile("generic", "registry")

#: Host pattern → profile, first match wins.
BUILT_IN: tuple[tuple[str, RegistryProfile], ...] = (
    ("registry.*.aliyuncs.com", ACR_PERSONAL),
    ("registry-vpc.*.aliyuncs.com", ACR_PERSONAL),
    ("registry-intl.*.aliyuncs.com", ACR_PERSONAL),
    ("registry-intl-vpc.*.aliyuncs.com", ACR_PERSONAL),
    ("crpi-*.personal.cr.aliyuncs.com", ACR_PERSONAL),
    ("docker.io", DOCKER_HUB),
    ("registry-1.docker.io", DOCKER_HUB),
    ("quay.io", QUAY),
    ("*ccr.ccs.tencentyun.com", TCR_PERSONAL),
    ("swr.*.myhuaweicloud.com", SWR),
    ("ghcr.io", GHCR),
    ("*-docker.pkg.dev", GAR),
    ("*.dkr.ecr.*.amazonaws.com", ECR),
)

#: Every profile by name, for ``registries: {HOST: {profile: NAME}}``.
PROFILES: dict[str, RegistryProfile] = {
    p.name: p
    for p in (
        ACR_PERSONAL,
        DOCKER_HUB,
        QUAY,
        TCR_PERSONAL,
        SWR,
        GHCR,
        GAR,
        ECR,
        HARBOR,
        ZOT,
        GENERIC,
    )
}


def built_in_profile(host: str) -> RegistryProfile:
    """The table's profile for ``host``; :data:`GENERIC` when no pattern matches."""
    bare = _without_port(host.lower())
    return next((p for pattern, p in BUILT_IN if fnmatchcase(bare, pattern)), GENERIC)


def profile_named(name: str) -> RegistryProfile:
    """A profile by its name, or ValueError listing the names."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown registry profile {name!r} (known: {known})") from None


def overridden(host: str, name: str | None = None, max_depth: int | None = None) -> RegistryProfile:
    """A host's profile as the sync file sets it: by ``name`` or the table, then fields."""
    profile = profile_named(name) if name else built_in_profile(host)
    return dataclasses.replace(profile, max_depth=max_depth) if max_depth else profile


@dataclass(frozen=True, slots=True)
class ProfileTable:
    """The built-in table with the sync file's per-host profiles (keys lower-case) over it."""

    overrides: Mapping[str, RegistryProfile] = field(default_factory=dict)

    def for_host(self, host: str) -> RegistryProfile:
        return self.overrides.get(host.lower()) or built_in_profile(host)


def _without_port(host: str) -> str:
    if host.endswith("]") or ":" not in host:
        return host
    return host.rpartition(":")[0]
