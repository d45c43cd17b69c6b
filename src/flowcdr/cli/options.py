"""Options shared by every command that touches state."""

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from flowcdr.config import Settings

F = TypeVar("F", bound=Callable[..., Any])


def with_settings(command: F) -> F:
    """Add ``--data-dir`` and pass ``settings`` (environment, config file, then the option)."""

    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where state lives (env FLOWCDR_DATA_DIR; default: a per-user data folder).",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, data_dir: Path | None, **kwargs: Any) -> Any:
        try:
            settings = Settings(data_dir=data_dir) if data_dir else Settings()
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
            )
            raise click.ClickException(f"invalid settings: {problems}") from None
        return command(*args, settings=settings, **kwargs)

    return wrapper  # type: ignore[return-value]
