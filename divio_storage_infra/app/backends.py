"""The storage classes the settings of :mod:`divio_storage_infra.app.settings` name by dotted path.

Django imports this module when it builds one of them, so it imports Django and django-storages as any app does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.files.storage import storages
from storages.backends.azure_storage import AzureStorage

from divio_storage_infra.app.settings import THUMBNAIL_ALIAS


class SasAzureStorage(AzureStorage):  # type: ignore[misc]  # django-storages ships no type hints
    """django-storages' AzureStorage whose unsigned URLs never carry the storage's own SAS token (the public
    container serves them anonymously; the token, which can write, stays in the app)."""

    def url(self, name: str, expire: Any = None, parameters: Any = None, mode: str = "r") -> str:
        """The blob's URL; signed only when ``expire`` (seconds) asks for a signature."""
        full: str = super().url(name, expire=expire, parameters=parameters, mode=mode)
        if expire is not None:
            return full  # a URL signed on purpose
        return urlunsplit(urlsplit(full)._replace(query=""))


class ThumbnailStorage:
    """``THUMBNAIL_DEFAULT_STORAGE`` for easy-thumbnails before 2.10, which builds that class without arguments:
    building this one returns the ``easy_thumbnails`` alias' storage from ``STORAGES`` (Django 4.2+)."""

    def __new__(cls) -> Any:
        """The storage Django's storage handler keeps for the ``easy_thumbnails`` alias."""
        return storages[THUMBNAIL_ALIAS]
