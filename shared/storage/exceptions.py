"""Failures of the storage adapters that are not a domain outcome."""

from __future__ import annotations

from shared.errors import AppError


class StorageError(AppError):
    code = "storageError"


class StorageUnavailable(StorageError):
    """Table Storage did not answer or answered with a server error: worth retrying later."""

    code = "storageUnavailable"


class InvalidTableKey(StorageError):
    """A value would be an illegal PartitionKey/RowKey; it must never reach the service."""

    code = "invalidKey"
