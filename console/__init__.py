"""The web console for account managers and shop staff, served at ``/console``.

A single page written in plain ES modules (no build step, nothing fetched from outside the
service): it calls the public API with the caller's key, exactly as a shop's or portal's own
frontend would. The files live in ``console/static``; ``api/routers/console.py`` serves them.
"""

from __future__ import annotations

from pathlib import Path

#: The folder of the console's HTML, scripts and styles.
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: What the console may load: its own files and the API of the same origin, nothing else.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

#: Asset name → media type; only these files are served.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def assets() -> dict[str, tuple[bytes, str]]:
    """Every console file by name, with its media type: read once, when the app is built.

    >>> files = assets()
    >>> files["index.html"][1]
    'text/html; charset=utf-8'
    >>> all("/" not in name for name in files)
    True
    """
    return {
        path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
        for path in sorted(STATIC_DIR.iterdir())
        if path.is_file() and path.suffix in MEDIA_TYPES
    }
