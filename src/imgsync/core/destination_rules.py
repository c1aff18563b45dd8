"""Name prefixed destinations by template, and check every destination against its registry.

The two live together because the check's hint is a template worked out on the
item itself: a destination too deep for its registry is refused with the templates
that would fit ("set --dest-template … to flat:_ (→ myns/bitnami_redis) or last
(→ myns/redis)"), so the user learns the fix, not only the rule.

Which template names a destination made from a prefix, most specific first: the
sync-file entry's own ``dest_template``, then the destination registry's
(``registries: {HOST: {dest_template}}``), then the fallback (``defaults.dest_template``
for the file's entries, ``--dest-template`` / ``IMGSYNC_DEST_TEMPLATE`` for what the
file leaves open and for command-line mappings), then ``path``. A destination the
user wrote out is taken at its word: templates never rename it, the profile still
checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from imgsync.core.manifest_format import Format, WritePolicy
from imgsync.core.path_template import FLAT, LAST, PATH, PathTemplate, optional_template
from imgsync.core.reference import ImageReference
from imgsync.core.registry_profile import ProfileTable, RegistryProfile, depth

_SETTING = "set --dest-template (sync file: dest_template)"


@dataclass(frozen=True, slots=True)
class DestinationRules:
    """Profiles, per-registry templates (lower-case hosts), the fallback, the entry's own."""

    profiles: ProfileTable = field(default_factory=ProfileTable)
    templates: Mapping[str, PathTemplate] = field(default_factory=dict)
    fallback: PathTemplate | None = None
    own: PathTemplate | None = None
    #: ``manifest_format`` per registry (lower-case hosts), then the fallback, then the profile's.
    formats: Mapping[str, Format] = field(default_factory=dict)
    format_fallback: Format | None = None

    def with_fallback(self, command_line_template: str | None) -> DestinationRules:
        """These rules with the command line's template (``--dest-template``) as fallback."""
        return replace(self, fallback=optional_template(command_line_template))

    def template_for(self, prefix: str) -> PathTemplate:
        host = prefix.partition("/")[0].lower()
        return self.own or self.templates.get(host) or self.fallback or PATH

    def prefixed(self, prefix: str, source_path: str) -> str:
        """``prefix/`` + the source path as the template for that prefix lays it out."""
        return f"{prefix}/{self.template_for(prefix).apply(source_path)}"

    def writes_for(self, destination: ImageReference) -> WritePolicy | None:
        """The destination's manifest-format policy; None where nothing can differ from keep."""
        host = destination.registry
        policy = self.profiles.for_host(host).write_policy(host)
        chosen = self.formats.get(host.lower()) or self.format_fallback
        policy = replace(policy, format=chosen) if chosen else policy
        return policy if policy.may_convert or policy.refuses else None

    def problem(
        self, destination: ImageReference, prefix: str | None, source_path: str
    ) -> str | None:
        """Why ``destination`` breaks its registry's profile and what would fit; None if it fits.

        ``prefix`` is the prefix the destination was made from (None when written out).
        """
        profile = self.profiles.for_host(destination.registry)
        if profile.allows_depth(destination.repository):
            return None
        if prefix is None:
            hint = _written_hint(profile, destination.repository)
        else:
            hint = _template_hint(profile, prefix, source_path)
        return f"{_broken(profile, destination)}; {hint}"


def _broken(profile: RegistryProfile, destination: ImageReference) -> str:
    levels = depth(destination.repository)
    return (
        f"{destination.registry} ({profile.title}, profile {profile.name}) allows "
        f"{profile.depth_rule}: {destination.repository} has {levels} levels"
    )


def _template_hint(profile: RegistryProfile, prefix: str, source_path: str) -> str:
    namespace = prefix.partition("/")[2]
    fitting = [
        f"{template} (→ {path})"
        for template in (FLAT, LAST)
        if profile.allows_depth(path := _joined(namespace, template.apply(source_path)))
    ]
    if not fitting:
        return f"the prefix {prefix} leaves no room for a repository: use a shorter prefix"
    return f"{_SETTING} to {' or '.join(fitting)}"


def _written_hint(profile: RegistryProfile, repository: str) -> str:
    keep = (profile.max_depth or 1) - 1
    parts = repository.split("/")
    example = _joined("/".join(parts[:keep]), "_".join(parts[keep:]))
    return f"write a destination with at most {profile.max_depth} levels, e.g. {example}"


def _joined(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name
