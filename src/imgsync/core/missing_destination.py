"""What must exist on a destination registry before a first push, and how to create it.

Why a module of words: ACR Personal and TCR Personal refuse a push into a namespace
never created, Huawei SWR into a missing organization, Harbor into a missing project,
and ECR into a repository never created. The registries say so with "requested access
to the resource is denied", "unauthorized to access repository" or ``NAME_UNKNOWN``:
texts that read like a wrong password. Here the profile's ``must_exist`` becomes a
message that names the registry, the missing part of the path and the step that
creates it (console path, CLI or API call).

Which registry answered is known from the host (the built-in profile table) or, for
a custom domain, a proxy or a test stand-in, from the answer itself: the token
service's name (``service`` / a token's ``aud``) or the error message
(:func:`recognised`). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgsync.core.registry_profile import (
    ACR_PERSONAL,
    ECR,
    GENERIC,
    HARBOR,
    SWR,
    RegistryProfile,
    built_in_profile,
)

#: How each profile's ``must_exist`` part is created; ``{name}`` is the missing part.
HOW_TO_CREATE: dict[str, str] = {
    "acr-personal": (
        "create the namespace {name!r} in the Container Registry console "
        "(Instances → your Personal Edition instance → Repository → Namespace → Create "
        "Namespace); repositories in it are created on push"
    ),
    "tcr-personal": (
        "create the namespace {name!r} in the TCR console (Personal Edition → Namespaces → "
        "Create); repositories in it are created on push"
    ),
    "swr": (
        "create the organization {name!r} in the SWR console (Organizations → Create "
        "Organization) or with the SWR API (POST /v2/manage/namespaces "
        '{{"namespace": "{name}"}}); an account has only a few organizations'
    ),
    "harbor": (
        "create the project {name!r} (Harbor portal: Projects → New Project, or "
        'POST /api/v2.0/projects {{"project_name": "{name}"}}); Harbor does not create '
        "projects on push"
    ),
    "ecr": (
        "create the repository (aws ecr create-repository --repository-name {name}); "
        "ECR does not create repositories on push"
    ),
}

#: Token service names (challenge ``service``, token ``aud``) of registries with no fixed host.
_SERVICES: tuple[tuple[str, RegistryProfile], ...] = (
    ("registry.aliyuncs.com", ACR_PERSONAL),  # "registry.aliyuncs.com:REGION:26842"
    ("harbor-registry", HARBOR),
    ("dockyard", SWR),
)
#: Error-message fragments that only one registry writes.
_MESSAGES: tuple[tuple[str, RegistryProfile], ...] = (
    ("does not exist in the registry with id", ECR),
    ("unauthorized to access repository", HARBOR),
)


def recognised(host: str, service: str = "", message: str = "") -> RegistryProfile:
    """The profile of the registry that answered: its host, else its token service or
    its wording; :data:`GENERIC` when nothing tells (then nothing must exist)."""
    by_host = built_in_profile(host)
    if by_host.must_exist:
        return by_host
    by_service = (p for prefix, p in _SERVICES if service.startswith(prefix))
    by_message = (p for fragment, p in _MESSAGES if fragment in message)
    return next(by_service, None) or next(by_message, None) or GENERIC


def missing_part(profile: RegistryProfile, repository: str) -> str:
    """What must exist for ``repository``: its first component, or all of it (ECR)."""
    if profile.must_exist == "repository":
        return repository
    return repository.partition("/")[0]


@dataclass(frozen=True, slots=True)
class MissingDestination:
    """A refused destination in words: ``registry`` host, ``repository``, ``who`` asked."""

    profile: RegistryProfile
    registry: str
    repository: str
    who: str

    @property
    def name(self) -> str:
        return missing_part(self.profile, self.repository)

    def hint(self) -> str:
        """The step that creates the missing part."""
        return HOW_TO_CREATE[self.profile.name].format(name=self.name)

    def message(self, evidence: str) -> str:
        """``evidence`` is the registry's own answer (status, code, text)."""
        if not self.profile.allows_depth(self.repository):  # too deep, not missing
            return (
                f"{self.registry}/{self.repository}: {self.profile.title} allows "
                f"{self.profile.depth_rule}, and refused the push ({evidence}): set "
                "--dest-template (sync file: dest_template) to flat:_ or last"
            )
        kind = self.profile.must_exist
        access = "" if kind == "repository" else f", or {self.who} may not push to it"
        return (
            f"{self.registry}/{self.repository}: the {kind} {self.name!r} does not exist on "
            f"{self.registry} ({self.profile.title}){access} ({evidence}); it must exist "
            f"before a push: {self.hint()}"
        )


def push_hint(profile: RegistryProfile, repository: str) -> str:
    """A refused push's hint where only the registry is known (skopeo's stderr)."""
    name = missing_part(profile, repository)
    return (
        f"on {profile.title} the {profile.must_exist} {name!r} must exist before a push: "
        + HOW_TO_CREATE[profile.name].format(name=name)
    )


def missing_destination(
    registry: str, repository: str, who: str, *, service: str = "", message: str = ""
) -> MissingDestination | None:
    """The words for a refused push, when the registry is one where something must exist."""
    profile = recognised(registry, service, message)
    if not profile.must_exist or profile.name not in HOW_TO_CREATE:
        return None
    return MissingDestination(profile, registry, repository, who)
