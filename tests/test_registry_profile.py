"""Registry profiles: which host gets which rules, the sync file's overrides, and the refusals."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from imgsync.config.syncload import SyncFile, command_line_rules, load_sync_file
from imgsync.core.destination_rules import DestinationRules
from imgsync.core.mapping import parse_mappings
from imgsync.core.path_template import FLAT
from imgsync.core.plan import Plan, expand
from imgsync.core.reference import ImageReference
from imgsync.core.registry_profile import (
    GENERIC,
    PROFILES,
    ProfileTable,
    built_in_profile,
    overridden,
    profile_named,
)
from imgsync.errors import ConfigError, InvalidMapping

HOSTS = [
    ("registry.cn-hangzhou.aliyuncs.com", "acr-personal", 2),
    ("Registry.CN-Beijing.Aliyuncs.com", "acr-personal", 2),
    ("registry-vpc.cn-shanghai.aliyuncs.com", "acr-personal", 2),
    ("registry-intl.ap-southeast-1.aliyuncs.com", "acr-personal", 2),
    ("crpi-f0rb6b6innqr9z32.cn-hangzhou.personal.cr.aliyuncs.com", "acr-personal", 2),
    ("registry.cn-hangzhou.aliyuncs.com:443", "acr-personal", 2),
    ("docker.io", "docker-hub", 2),
    ("registry-1.docker.io", "docker-hub", 2),
    ("quay.io", "quay", 2),
    ("ccr.ccs.tencentyun.com", "tcr-personal", 2),
    ("hkccr.ccs.tencentyun.com", "tcr-personal", 2),
    ("swr.cn-north-4.myhuaweicloud.com", "swr", None),
    ("ghcr.io", "ghcr", None),
    ("europe-west1-docker.pkg.dev", "gar", None),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "ecr", None),
    ("myinstance-registry.cn-hangzhou.cr.aliyuncs.com", "generic", None),  # ACR Enterprise
    ("harbor.example.com", "generic", None),
    ("127.0.0.1:5000", "generic", None),
    ("[::1]:5000", "generic", None),
]


@pytest.mark.parametrize(("host", "name", "max_depth"), HOSTS)
def test_the_built_in_table_knows_each_host(host: str, name: str, max_depth: int | None) -> None:
    profile = built_in_profile(host)
    assert (profile.name, profile.max_depth) == (name, max_depth)


def test_every_profile_is_reachable_by_its_name() -> None:
    assert all(profile_named(name) is profile for name, profile in PROFILES.items())
    assert {"acr-personal", "harbor", "generic"} <= set(PROFILES)
    with pytest.raises(ValueError, match=r"unknown registry profile 'acr' \(known: .*acr-personal"):
        profile_named("acr")


def test_an_override_picks_a_profile_by_name_and_sets_its_depth() -> None:
    assert overridden("127.0.0.1:5000", "acr-personal") is PROFILES["acr-personal"]
    deeper = overridden("registry.cn-hangzhou.aliyuncs.com", max_depth=3)
    assert (deeper.name, deeper.max_depth) == ("acr-personal", 3)
    assert overridden("ghcr.io", "generic") is GENERIC


def test_the_table_lays_overrides_over_the_built_in_ones_by_lower_case_host() -> None:
    table = ProfileTable({"127.0.0.1:5000": PROFILES["acr-personal"]})
    assert table.for_host("127.0.0.1:5000").name == "acr-personal"
    assert table.for_host("quay.io").name == "quay"


@pytest.mark.parametrize(
    ("depth", "words"),
    [(1, "one-level repository names only"), (2, "namespace/repository only"), (3, "at most 3")],
)
def test_a_depth_rule_reads_as_words(depth: int, words: str) -> None:
    assert words in overridden("x.example.com", max_depth=depth).depth_rule


# ------------------------------------------------------------- refusals on mappings

ACR = "registry.cn-hangzhou.aliyuncs.com"


def _refusal(text: str, **kwargs: object) -> str:
    with pytest.raises(InvalidMapping) as caught:
        parse_mappings(text, **kwargs)  # type: ignore[arg-type]
    [problem] = caught.value.problems
    return problem.reason


def test_a_prefix_too_deep_for_acr_is_refused_naming_the_templates_that_fit() -> None:
    reason = _refusal("bitnami/redis:7", dest_prefix=f"{ACR}/myns")
    assert reason == (
        f"{ACR} (Aliyun ACR Personal Edition, profile acr-personal) allows namespace/repository "
        "only: myns/bitnami/redis has 3 levels; set --dest-template (sync file: dest_template) "
        "to flat:_ (→ myns/bitnami_redis) or last (→ myns/redis)"
    )


def test_a_prefix_that_leaves_no_room_says_so() -> None:
    reason = _refusal("redis", dest_prefix=f"{ACR}/myns/sub")
    assert reason.endswith(
        f"the prefix {ACR}/myns/sub leaves no room for a repository: use a shorter prefix"
    )


def test_a_written_destination_too_deep_is_refused_with_an_example_that_fits() -> None:
    reason = _refusal("bitnami/redis=crpi-x.cn-hangzhou.personal.cr.aliyuncs.com/ns/bitnami/redis")
    assert "ns/bitnami/redis has 3 levels" in reason
    assert reason.endswith("write a destination with at most 2 levels, e.g. ns/bitnami_redis")


def test_docker_hub_destinations_keep_to_namespace_and_repository() -> None:
    assert "me/a/b has 3 levels" in _refusal("x=me/a/b")
    [item] = parse_mappings("x=me/a")
    assert str(item.destination) == "docker.io/me/a:latest"


def test_a_fitting_template_passes_and_unlimited_registries_take_any_depth() -> None:
    flat = DestinationRules(fallback=FLAT)
    [item] = parse_mappings("bitnami/redis", dest_prefix=f"{ACR}/myns", dest_rules=flat)
    assert item.destination.repository == "myns/bitnami_redis"
    deep = parse_mappings("a/b/c=ghcr.io/o/a/b/c, a/b/c=swr.cn-north-4.myhuaweicloud.com/o/a/b/c")
    assert [item.destination.repository for item in deep] == ["o/a/b/c", "o/a/b/c"]


def test_every_item_that_breaks_a_profile_is_listed() -> None:
    with pytest.raises(InvalidMapping) as caught:
        parse_mappings("a/b, c/d, e", dest_prefix=f"{ACR}/myns")
    assert [p.position for p in caught.value.problems] == [1, 2]


# ------------------------------------------------------------- the sync file


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sync.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def never_list(repository: ImageReference) -> list[str]:
    raise AssertionError(f"listed the tags of {repository.name} before the check")


def expand_file(sync_file: SyncFile, tags: dict[str, list[str]] | None = None) -> Plan:
    def list_tags(repository: ImageReference) -> list[str]:
        return (tags or {})[repository.name]

    rules = sync_file.entry_rules(None)
    return expand(sync_file.rules, list_tags=list_tags, dest_rules=rules)


def test_a_registry_profile_and_template_come_from_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        defaults: {dest_prefix: "127.0.0.1:5000/myns"}
        registries:
          127.0.0.1:5000: {profile: acr-personal, dest_template: "flat:-"}
        images:
          - {source: bitnami/redis, tags: ["7"]}
          - {source: quay.io/a/b, tags: ["1"], dest_template: last}
        """,
    )
    plan = expand_file(load_sync_file(path))
    assert [str(item.destination) for item in plan.items] == [
        "127.0.0.1:5000/myns/bitnami-redis:7",
        "127.0.0.1:5000/myns/b:1",
    ]


def test_defaults_template_yields_to_the_registry_one_and_serves_other_registries(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        f"""\
        defaults: {{dest_prefix: "{ACR}/myns", dest_template: last}}
        registries:
          {ACR}: {{dest_template: flat}}
        images:
          - {{source: bitnami/redis, tags: ["7"]}}
          - {{source: bitnami/nginx, tags: ["1"]}}
          - "bitnami/etcd:3"
        """,
    )
    sync_file = load_sync_file(path)
    assert [item.destination.repository for item in expand_file(sync_file).items] == [
        "myns/bitnami_redis",
        "myns/bitnami_nginx",
        "myns/bitnami_etcd",
    ]
    other = command_line_rules(sync_file, None)
    [item] = parse_mappings("bitnami/redis", dest_prefix="r.example.com/m", dest_rules=other)
    assert item.destination.repository == "m/bitnami/redis"  # defaults serve the file's entries


def test_the_command_line_template_serves_entries_the_file_leaves_open(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        defaults: {dest_prefix: r.example.com/m}
        images: [{source: bitnami/redis, tags: ["7"]}]
        """,
    )
    sync_file = load_sync_file(path)
    plan = expand(sync_file.rules, list_tags=never_list, dest_rules=sync_file.entry_rules("last"))
    assert [item.destination.repository for item in plan.items] == ["m/redis"]


def test_a_depth_violation_in_a_filtered_entry_fails_before_any_tag_list_is_read(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        f"""\
        defaults: {{dest_prefix: "{ACR}/myns"}}
        images:
          - source: bitnami/redis
            tags: {{semver: ">=7"}}
        """,
    )
    with pytest.raises(ConfigError) as caught:
        expand_file_without_listing(load_sync_file(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:3: images[0]: ")
    assert "myns/bitnami/redis has 3 levels" in message
    assert "flat:_ (→ myns/bitnami_redis)" in message


def expand_file_without_listing(sync_file: SyncFile) -> Plan:
    return expand(sync_file.rules, list_tags=never_list, dest_rules=sync_file.entry_rules(None))


def test_a_max_depth_override_tightens_or_loosens_a_profile(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        defaults: {{dest_prefix: "{ACR}/myns"}}
        registries:
          {ACR}: {{max_depth: 3}}
          ghcr.io: {{max_depth: 2}}
        images:
          - {{source: bitnami/redis, tags: ["7"]}}
          - {{source: bitnami/redis, tags: ["7"], destinations: ghcr.io/o/bitnami/redis}}
        """,
    )
    with pytest.raises(ConfigError) as caught:
        expand_file(load_sync_file(path))
    assert f"{path}:7: images[1].destinations[0]: ghcr.io" in str(caught.value)
    assert "o/bitnami/redis has 3 levels" in str(caught.value)


def test_two_entries_that_flatten_to_one_destination_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        defaults: {dest_prefix: r.example.com/m, dest_template: flat}
        images:
          - {source: a/b_c, tags: ["1"]}
          - {source: a_b/c, tags: ["1"]}
        """,
    )
    with pytest.raises(ConfigError) as caught:
        expand_file(load_sync_file(path))
    assert str(caught.value) == (
        f"{path}:4: images[1]: writes r.example.com/m/a_b_c:1, which images[0] (line 3) "
        "writes too; every destination may be written once"
    )


@pytest.mark.parametrize(
    ("snippet", "error"),
    [
        (
            'defaults: {dest_template: "flat:/"}',
            "defaults.dest_template: destination template 'flat:/': bad separator",
        ),
        (
            "registries: {ghcr.io: {profile: acr}}",
            "registries.ghcr.io.profile: unknown registry profile 'acr' (known: acr-personal",
        ),
        ("registries: {ghcr.io: {max_depth: 0}}", "registries.ghcr.io.max_depth: Input should be"),
        (
            "registries: {ghcr.io: {dest_template: tree}}",
            "registries.ghcr.io.dest_template: destination template 'tree' is unknown",
        ),
    ],
)
def test_bad_template_and_profile_keys_name_file_line_and_field(
    tmp_path: Path, snippet: str, error: str
) -> None:
    path = write(tmp_path, f"{snippet}\nimages: [nginx]\n")
    with pytest.raises(ConfigError) as caught:
        load_sync_file(path)
    assert f"{path}:1: {error}" in str(caught.value)


def test_an_entry_template_beside_written_destinations_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        images:
          - {source: nginx, destinations: r.example.com/m/nginx, dest_template: last}
        """,
    )
    with pytest.raises(ConfigError, match="dest_template names destinations made from dest_prefix"):
        load_sync_file(path)
