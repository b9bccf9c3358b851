"""Exception types shared by every layer; `indexes` is the bottom layer so they live here."""


class MmsearchError(Exception):
    """Base class of every error mmsearch raises on purpose; its message is meant for the user."""


class IndexNotFoundError(MmsearchError):
    """No index exists at the given location."""


class IndexMismatchError(MmsearchError):
    """The index was built by another model or with another dimension."""


class CatalogVersionError(MmsearchError):
    """The catalog was written by a newer, unknown schema version."""


class FilterError(MmsearchError):
    """A `--where` predicate is not a valid read-only expression over catalog columns."""


class IndexLockedError(MmsearchError):
    """Another process holds the catalog's write lock for too long."""


class CatalogError(MmsearchError):
    """The catalog file cannot be opened: damaged, or not a DuckDB database."""


class IndexWriteError(MmsearchError):
    """A file of the index (the FAISS file) cannot be written, e.g. the disk is full."""
