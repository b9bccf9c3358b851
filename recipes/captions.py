"""The Flickr training split the recipes learn English from, and the word phrases of its captions (no torch)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from retrieval.train.data import PairSet, read_captions, split_last

FLICKR_CAPTIONS = Path("flickr8k_800", "captions.csv")
FLICKR_VAL_IMAGES = 160
"""The last images of the Flickr set, kept out of every recipe for validation."""
WORD = re.compile(r"[a-z]+")


def flickr_training(data_dir: Path) -> PairSet:
    """The Flickr images before the validation ones, with their captions."""
    training, _ = split_last(read_captions(data_dir / FLICKR_CAPTIONS), FLICKR_VAL_IMAGES)
    return training


def training_captions(data_dir: Path) -> list[str]:
    """The captions of the Flickr images before the validation ones."""
    return list(flickr_training(data_dir).texts)


def phrases(text: str, lengths: Sequence[int]) -> Iterator[str]:
    """Every run of `lengths` consecutive lower-case words of `text`, joined by spaces."""
    words = WORD.findall(text.lower())
    return (" ".join(words[i : i + n]) for n in lengths for i in range(len(words) - n + 1))
