"""``flowcdr users`` as an operator runs it, on each control database."""

import os
import subprocess
import sys
from pathlib import Path

from flowcdr.auth.passwords import verify_password
from flowcdr.config import Settings
from flowcdr.store.control import ControlStore


def run(
    data_dir: Path, *args: str, stdin: str = "", url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWCDR_")}
    if url is not None:
        env["FLOWCDR_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "flowcdr", *args, "--data-dir", str(data_dir)],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_add_list_disable(tmp_path: Path, database_url: str | None) -> None:
    def flowcdr(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run(tmp_path, *args, stdin=stdin, url=database_url)

    added = flowcdr("users", "add", "alice", "--tenant", "contoso", "--role", "admin",
                    "--password-stdin", stdin="a long enough password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert flowcdr("users", "list").stdout.splitlines() == ["contoso\talice\tadmin\tactive"]
    again = flowcdr("users", "add", "alice", "--tenant", "contoso",
                    "--password-stdin", stdin="a long enough password\n")  # fmt: skip
    assert again.returncode == 1
    assert "already exists" in again.stderr
    short = flowcdr("users", "add", "bob", "--tenant", "contoso",
                    "--password-stdin", stdin="short\n")  # fmt: skip
    assert (short.returncode, "at least 12" in short.stderr) == (1, True)
    assert flowcdr("users", "disable", "alice").returncode == 0
    assert flowcdr("users", "list").stdout.strip().endswith("disabled")
    missing = flowcdr("users", "disable", "nobody")
    assert (missing.returncode, "no user" in missing.stderr) == (1, True)
    store = ControlStore.open(Settings(data_dir=tmp_path, database_url=database_url))
    user = store.user("alice")
    store.close()
    assert user is not None
    assert verify_password(user.password_hash, "a long enough password")
    assert "a long enough password" not in user.password_hash
