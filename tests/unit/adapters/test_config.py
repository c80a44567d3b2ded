from __future__ import annotations

from pathlib import Path

import pytest

from turktui.adapters.config import Paths, Settings, load_settings
from turktui.domain.environment import (
    PRODUCTION_URL,
    SANDBOX_URL,
    EnvKind,
    resolve_environment,
)
from turktui.domain.errors import ConfigurationError


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.toml") == Settings()


def test_values_are_read(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('profile = "ops"\nenvironment = "production"\nauto_refresh = 30\n')
    settings = load_settings(path)
    assert settings.profile == "ops" and settings.environment == "production"
    assert settings.auto_refresh == 30


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("profile = [", "not valid TOML"),
        ("colour = 1", "unknown key 'colour'"),
        ("read_only = 'yes'", "read_only must be a bool"),
        ("demo_hits = true", "demo_hits must be a int"),
        ('environment = "prod"', "environment must be"),
        ("auto_refresh = -5", "must not be negative"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as info:
        load_settings(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_undecodable_config(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xff\xfe\x00profile")
    with pytest.raises(ConfigurationError):
        load_settings(path)


def test_paths_follow_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("TURKTUI_CONFIG", raising=False)
    paths = Paths.default()
    assert paths.config_file == tmp_path / "cfg" / "turktui" / "config.toml"
    assert paths.history_db.parent == tmp_path / "data" / "turktui"


def test_environment_defaults_to_sandbox() -> None:
    env = resolve_environment()
    assert env.kind is EnvKind.SANDBOX and env.endpoint_url == SANDBOX_URL
    assert resolve_environment(production=True).kind is EnvKind.PRODUCTION
    assert resolve_environment(default="production").endpoint_url == PRODUCTION_URL
    assert resolve_environment(endpoint_url=PRODUCTION_URL + "/").is_production
    assert resolve_environment(endpoint_url="http://127.0.0.1:1").kind is EnvKind.CUSTOM
    assert resolve_environment(demo_url="http://127.0.0.1:2").kind is EnvKind.DEMO
    with pytest.raises(ValueError):
        resolve_environment(sandbox=True, production=True)
