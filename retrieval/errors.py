"""Errors raised by the retrieval library (the base class comes from `indexes.errors`)."""

from indexes.errors import (
    CatalogError,
    CatalogVersionError,
    FilterError,
    IndexMismatchError,
    IndexNotFoundError,
    MmsearchError,
)

__all__ = [
    "CatalogError",
    "CatalogVersionError",
    "EncoderNotFoundError",
    "FilterError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "ItemNotFoundError",
    "MediaDecodeError",
    "MissingDependencyError",
    "MmsearchError",
    "ModalityNotSupportedError",
]


class EncoderNotFoundError(MmsearchError):
    """A model name, tag or checkpoint path cannot be resolved or loaded."""


class MissingDependencyError(MmsearchError):
    """An optional package needed for this feature is not installed."""


class MediaDecodeError(MmsearchError):
    """A file cannot be decoded as the media type its extension promises."""


class ItemNotFoundError(MmsearchError):
    """No catalog item has the requested id."""


class ModalityNotSupportedError(MmsearchError):
    """The model has no tower for the requested modality."""
