"""The app side: what a Django app imports to read its storage DSNs (``DEFAULT_STORAGE_DSN``, ``PRIVATE_STORAGE_DSN``).

:func:`app_settings` and :func:`storages_settings` build plain settings dicts and import no Django; the storage
classes they name live in :mod:`divio_storage_infra.app.backends`, which Django imports when it builds a storage.
Nothing of Pulumi is imported here, and neither the core nor the components import this package.
"""

from divio_storage_infra.app.settings import app_settings, storages_settings

__all__ = ["app_settings", "storages_settings"]
