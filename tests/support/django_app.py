"""A Django app configured only from ``DEFAULT_STORAGE_DSN`` and ``PRIVATE_STORAGE_DSN``, as a site's settings.py
would be, that stores an image, lets easy-thumbnails make a thumbnail and keeps a public and a private file (and
image) in django-filer. It prints what it did as JSON on stdout.

Run as a script in its own interpreter (see ``run_app``): Django's settings are process-global, and easy-thumbnails
and django-filer build their storages once, when they are first imported, so one process can hold one app only.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

IMAGE_SIZE = (64, 48)
THUMBNAIL_SIZE = (32, 32)
PUBLIC_BODY = b"a public filer file\n"
PRIVATE_BODY = b"a private filer file\n"


def run_app(default_dsn: str, private_dsn: str, timeout: float = 120) -> dict[str, Any]:
    """Run this app in a fresh interpreter with the two DSNs in its environment; what it printed, parsed."""
    env = {**os.environ, "DEFAULT_STORAGE_DSN": default_dsn, "PRIVATE_STORAGE_DSN": private_dsn}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"the Django app failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def png(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG image of ``size`` pixels."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def configure() -> None:
    """settings.py: storage settings from the DSNs only, plus what filer needs (apps, an in-memory database)."""
    import django
    from django.conf import settings

    from divio_storage_infra import app_settings

    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "easy_thumbnails",
            "filer",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        MEDIA_ROOT="/nonexistent-media-root",  # nothing may land on the local disk
        **app_settings(os.environ["DEFAULT_STORAGE_DSN"], os.environ["PRIVATE_STORAGE_DSN"]),
    )
    django.setup()


def thumbnails() -> dict[str, Any]:
    """Store an image in the default storage and let easy-thumbnails make a thumbnail of it."""
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage, storages
    from django.utils.module_loading import import_string
    from easy_thumbnails.files import get_thumbnailer
    from easy_thumbnails.storage import thumbnail_default_storage

    name = default_storage.save("photos/sunset.png", ContentFile(png(IMAGE_SIZE, (200, 80, 20))))
    thumbnail = get_thumbnailer(default_storage, relative_name=name).get_thumbnail(
        {"size": THUMBNAIL_SIZE, "crop": True}
    )
    return {
        "image_name": name,
        "image_url": default_storage.url(name),
        "thumbnail_name": thumbnail.name,
        "thumbnail_url": thumbnail.url,
        "thumbnail_storage_is_alias": thumbnail_default_storage is storages["easy_thumbnails"],
        # easy-thumbnails before 2.10 builds THUMBNAIL_DEFAULT_STORAGE without arguments: the same storage.
        "legacy_setting_is_alias": import_string(settings.THUMBNAIL_DEFAULT_STORAGE)() is storages["easy_thumbnails"],
        "thumbnail_storage_class": type(thumbnail_default_storage).__name__,
    }


def filer() -> dict[str, Any]:
    """A public and a private filer File, and a public and a private filer Image with a thumbnail each."""
    from django.core.files.base import ContentFile
    from filer.models import File, Image

    public = File.objects.create(
        file=ContentFile(PUBLIC_BODY, name="public.txt"), original_filename="public.txt", is_public=True
    )
    private = File.objects.create(
        file=ContentFile(PRIVATE_BODY, name="private.txt"), original_filename="private.txt", is_public=False
    )
    out: dict[str, Any] = {
        "public": {"name": public.file.name, "url": public.url},
        "private": {"name": private.file.name, "url": private.url},
    }
    for kind, is_public, color in (("public_image", True, (20, 90, 200)), ("private_image", False, (20, 200, 90))):
        image = Image.objects.create(
            file=ContentFile(png(IMAGE_SIZE, color), name=f"{kind}.png"),
            original_filename=f"{kind}.png",
            is_public=is_public,
        )
        thumbnail = image.file.get_thumbnail({"size": THUMBNAIL_SIZE, "crop": True})
        out[kind] = {
            "name": image.file.name,
            "url": image.url,
            "thumbnail_name": thumbnail.name,
            "thumbnail_url": thumbnail.url,
        }
    return out


def main() -> None:
    """Configure the app from the DSNs, create the tables, do the work, print the JSON."""
    configure()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    print(json.dumps({"thumbnails": thumbnails(), "filer": filer()}, sort_keys=True))


if __name__ == "__main__":
    main()
