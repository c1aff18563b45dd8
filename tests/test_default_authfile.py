"""Which auth file imgsync reads when none is named: where podman, skopeo and docker log in."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgsync.config.settings import Settings

CASES = [
    # (files that exist, environment, the one chosen)
    ((), {}, None),
    ((".docker/config.json",), {}, ".docker/config.json"),
    ((".docker/config.json", "cfg/config.json"), {"DOCKER_CONFIG": "cfg"}, "cfg/config.json"),
    ((".docker/config.json",), {"DOCKER_CONFIG": "cfg"}, None),
    ((".config/containers/auth.json", ".docker/config.json"), {}, ".config/containers/auth.json"),
    (("xdg/containers/auth.json",), {"XDG_CONFIG_HOME": "xdg"}, "xdg/containers/auth.json"),
    (
        ("run/containers/auth.json", ".config/containers/auth.json", ".docker/config.json"),
        {"XDG_RUNTIME_DIR": "run"},
        "run/containers/auth.json",
    ),
    ((".docker/config.json",), {"XDG_RUNTIME_DIR": "run"}, ".docker/config.json"),
]


@pytest.mark.parametrize(("files", "environ", "chosen"), CASES)
def test_the_first_auth_file_that_exists_in_containers_images_order_is_read(
    tmp_path: Path, files: tuple[str, ...], environ: dict[str, str], chosen: str | None
) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('{"auths": {}}')
    env = {key: str(tmp_path / value) for key, value in environ.items()}
    settings = Settings.from_variables(env, home=tmp_path)
    assert settings.authfile == (tmp_path / chosen if chosen else None)


def test_an_auth_file_named_by_the_environment_wins_over_every_default(tmp_path: Path) -> None:
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text("{}")
    named = tmp_path / "mine.json"
    named.write_text("{}")
    settings = Settings.from_variables({"REGISTRY_AUTH_FILE": str(named)}, home=tmp_path)
    assert settings.authfile == named
