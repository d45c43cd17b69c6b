"""Fixtures for the conformance tests: the third-party corpus beside the repository."""

import os
from pathlib import Path

import pytest

from .corpus import CORPUS_DIR, FUNCTIONAL_ENV


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The corpus directory; skips when it is absent, fails instead when FUNCTIONAL_ENV=1.

    A developer clone without ``shared/`` should still run the unit tests, but CI sets
    FUNCTIONAL_ENV so that a lost corpus cannot turn the whole conformance suite into skips.
    """
    if CORPUS_DIR.is_dir():
        return CORPUS_DIR
    reason = f"conformance corpus not found at {CORPUS_DIR}"
    if os.environ.get(FUNCTIONAL_ENV) == "1":
        pytest.fail(f"{reason} ({FUNCTIONAL_ENV}=1 requires it)")
    pytest.skip(f"{reason}; set {FUNCTIONAL_ENV}=1 to make this an error")
