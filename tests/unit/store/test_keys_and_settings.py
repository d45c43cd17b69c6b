"""Settings from the environment or a TOML file, masked dumps, key files readable by owner only."""

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from flowcdr.config import Settings
from flowcdr.store import keys
from flowcdr.store.control import ControlStore


def test_key_files_are_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jwt.key"
    first = keys.load_or_create(path, None, keys.new_jwt_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = keys.load_or_create(path, None, keys.new_jwt_key())
    assert again == first
    assert keys.load_or_create(path, SecretStr("configured" * 4), b"x") == b"configured" * 4


def test_environment_then_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "flowcdr.toml"
    toml.write_text("auth_token_minutes = 30\nlogin_failures = 9\n")
    monkeypatch.setenv("FLOWCDR_CONFIG_FILE", str(toml))
    monkeypatch.setenv("FLOWCDR_LOGIN_FAILURES", "4")
    settings = Settings(data_dir=tmp_path)
    assert settings.auth_token_minutes == 30
    assert settings.login_failures == 4  # the environment wins over the file


def test_bad_settings_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCDR_JWT_KEY", "short")
    with pytest.raises(ValidationError, match="jwt_key"):
        Settings()


def test_config_dump_masks_secrets(tmp_path: Path) -> None:
    env = {
        "FLOWCDR_JWT_KEY": "j" * 40,
        "FLOWCDR_ENCRYPTION_KEY": "e" * 44,
        "FLOWCDR_DATABASE_URL": "postgresql://flowcdr:hunter22@db.internal/flowcdr",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "flowcdr", "config", "dump", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    dumped = json.loads(done.stdout)
    assert dumped["jwt_key"] == dumped["encryption_key"] == "****"
    assert dumped["database_url"] == "postgresql://flowcdr:****@db.internal/flowcdr"
    assert dumped["data_dir"] == str(tmp_path)
    assert "hunter22" not in done.stdout
    assert "j" * 40 not in done.stdout


def test_the_control_database_is_private(tmp_path: Path) -> None:
    store = ControlStore.open(Settings(data_dir=tmp_path / "data"))
    store.audit(None, "test", "write")  # makes SQLite create its -wal file too
    for path in (tmp_path / "data").glob("control.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    store.close()
