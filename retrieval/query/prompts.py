"""Prompt templates and label clean-up, kept as data so zero-shot and training share them."""

from __future__ import annotations

import re

IMAGE_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a picture of a {}.",
    "a close-up photo of a {}.",
    "a photo of the {}.",
    "an image showing a {}.",
    "a good photo of a {}.",
)
"""Zero-shot ensemble for image classification; each template has one `{}` for the label."""

AUDIO_TEMPLATES: tuple[str, ...] = (
    "the sound of {}",
    "someone saying {}",
    "a voice saying {}",
    "a recording of the word {}",
    "{}",
)
"""Default zero-shot templates: average MiniLM(template.format(label)) over these per label."""

TRAIN_TEMPLATES: tuple[str, ...] = IMAGE_TEMPLATES + (
    "a {}.",
    "a blurry photo of a {}.",
    "a cropped photo of a {}.",
    "a bright photo of a {}.",
    "{}",
    "there is a {} in this picture.",
)
"""Templates that turn class labels into training captions (a superset of the zero-shot ensemble)."""

LABEL_ALIASES: dict[str, str] = {
    "faces": "person",
    "faces_easy": "face",
    "leopards": "leopard",
    "motorbikes": "motorbike",
    "airplanes": "airplane",
    "car_side": "car",
    "cougar_body": "cougar",
    "water_lilly": "water lily",
    "yin_yang": "yin yang symbol",
    "dollar_bill": "dollar bill",
    "inline_skate": "inline skate",
    "background_google": "random background",
}
"""Folder-style labels whose plain-language name is not just the label with spaces."""

EXCLUDED_LABELS = frozenset({"BACKGROUND_Google"})
"""Dataset labels that are not object classes (clutter folders): never captions, never classified."""


def clean_label(label: str) -> str:
    """Folder-style label -> plain words: aliases, underscores and camel case to spaces, lower case."""
    key = label.strip().lower()
    if key in LABEL_ALIASES:
        return LABEL_ALIASES[key]
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label.strip()).replace("_", " ").replace("-", " ")
    return " ".join(words.lower().split())


def fill_templates(label: str, templates: tuple[str, ...] | list[str] = IMAGE_TEMPLATES) -> list[str]:
    """The texts of one cleaned label under each template."""
    name = clean_label(label)
    return [template.format(name) for template in templates]
