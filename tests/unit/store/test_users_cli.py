"""``flowcdr users`` as an operator runs it."""

import subprocess
import sys
from pathlib import Path

from flowcdr.auth.passwords import verify_password
from flowcdr.config import Settings
from flowcdr.store.control import ControlStore


def flowcdr(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowcdr", *args, "--data-dir", str(data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_add_list_disable(tmp_path: Path) -> None:
    added = flowcdr(tmp_path, "users", "add", "alice", "--tenant", "contoso", "--role", "admin",
                    "--password-stdin", stdin="a long enough password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert flowcdr(tmp_path, "users", "list").stdout.splitlines() == [
        "contoso\talice\tadmin\tactive"
    ]
    again = flowcdr(tmp_path, "users", "add", "alice", "--tenant", "contoso",
                    "--password-stdin", stdin="a long enough password\n")  # fmt: skip
    assert again.returncode == 1
    assert "already exists" in again.stderr
    short = flowcdr(tmp_path, "users", "add", "bob", "--tenant", "contoso",
                    "--password-stdin", stdin="short\n")  # fmt: skip
    assert (short.returncode, "at least 12" in short.stderr) == (1, True)
    assert flowcdr(tmp_path, "users", "disable", "alice").returncode == 0
    assert flowcdr(tmp_path, "users", "list").stdout.strip().endswith("disabled")
    missing = flowcdr(tmp_path, "users", "disable", "nobody")
    assert (missing.returncode, "no user" in missing.stderr) == (1, True)
    store = ControlStore.open(Settings(data_dir=tmp_path))
    user = store.user("alice")
    store.close()
    assert user is not None
    assert verify_password(user.password_hash, "a long enough password")
    assert "a long enough password" not in user.password_hash
