"""``flowcdr collect`` refuses unusable input before touching any source."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from flowcdr.cli.main import main


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("FLOWCDR_SUBSCRIPTION_TOKEN", "FLOWCDR_STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_the_token_comes_from_the_environment_only(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["collect", "--gateway", "http://x", "--folder", str(tmp_path)])
    assert result.exit_code == 1
    assert "FLOWCDR_SUBSCRIPTION_TOKEN" in result.output


def test_exactly_one_source(runner: CliRunner, tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    env = {"FLOWCDR_SUBSCRIPTION_TOKEN": "t"}
    args = ["collect", "--gateway", "http://x", "--state", state, "--once"]
    result = runner.invoke(main, args, env=env)
    assert result.exit_code == 2
    assert "exactly one of" in result.output


def test_a_bad_gateway_url_is_named(runner: CliRunner, tmp_path: Path) -> None:
    args = ["collect", "--gateway", "ftp://x", "--folder", str(tmp_path), "--once"]
    result = runner.invoke(main, args, env={"FLOWCDR_SUBSCRIPTION_TOKEN": "t"})
    assert result.exit_code == 1
    assert "'ftp://x'" in result.output


def test_a_malformed_connection_string_is_refused_without_echo(
    runner: CliRunner, tmp_path: Path
) -> None:
    secret = "AccountKey=c2VjcmV0c2VjcmV0"
    args = ["collect", "--gateway", "http://x", "--state", str(tmp_path / "s.db"), "--once"]
    env = {"FLOWCDR_SUBSCRIPTION_TOKEN": "t", "FLOWCDR_STORAGE_CONNECTION_STRING": secret}
    result = runner.invoke(main, args, env=env)
    assert result.exit_code == 1
    assert "c2VjcmV0" not in result.output
