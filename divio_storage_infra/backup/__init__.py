"""``backup`` and ``restore``: copy each store to its own backup and back, keeping privacy, metadata and bytes.

:mod:`.sides` reads and writes one store (S3 or Azure), :mod:`.identity` refuses DSNs handed over in the wrong
places, :mod:`.sync` copies what differs, verified by checksum, in bounded memory.
"""
