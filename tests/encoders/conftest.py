"""Fixtures of the encoder tests: one shared lite encoder."""

from __future__ import annotations

import pytest

from retrieval.encoders.lite import LiteEncoder


@pytest.fixture(scope="session")
def lite_encoder() -> LiteEncoder:
    """The shipped lite model, loaded once."""
    return LiteEncoder()
