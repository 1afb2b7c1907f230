"""View a ``marimo export html`` page with no network.

An exported marimo page references its JavaScript, CSS and fonts on a CDN
(``…/@marimo-team/frontend@<version>/dist/…``); offline, the page stays blank. The marimo
wheel ships the very same ``dist`` folder as ``marimo/_static``. This module maps a CDN
address to the shipped file and serves an export on localhost with those addresses
rewritten, so the report renders in any browser without network access.

ES modules refuse to load from ``file://`` pages, which is why the export is served over
HTTP instead of rewritten to relative file paths.

Run ``python -m eemo_rewards.report serve reports/ablations.html`` to serve a report and print
its address.
"""

from __future__ import annotations

import mimetypes
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = [
    "MARIMO_CDN_PATTERN",
    "OfflineServer",
    "marimo_static_dir",
    "serve_offline",
    "static_asset_for_url",
]

#: The CDN addresses of marimo's front end in an export; group 1 is the path inside ``dist``.
MARIMO_CDN_PATTERN = re.compile(
    r"https://cdn\.jsdelivr\.net/npm/@marimo-team/frontend@[^/\"'\s]+/dist/([^\"'\s?#)]*)"
)
_LOCAL_PREFIX = "/_marimo/"


def marimo_static_dir() -> Path:
    """The folder of marimo's front-end files shipped in the marimo wheel.

    Raises
    ------
    ModuleNotFoundError
        marimo is not installed (``pip install 'eemo-rewards[notebooks]'``).
    FileNotFoundError
        The installed marimo has no ``_static`` folder (a source checkout without a built
        front end); install marimo from its wheel.

    Examples
    --------
    >>> (marimo_static_dir() / "index.html").is_file()
    True
    """
    try:
        import marimo
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "marimo is not installed; install the notebooks extra: "
            "pip install 'eemo-rewards[notebooks]'"
        ) from exc
    static = Path(marimo.__file__).resolve().parent / "_static"
    if not (static / "assets").is_dir():
        raise FileNotFoundError(
            f"marimo's front-end files are missing at {static}; install marimo from its wheel "
            "(pip install --force-reinstall marimo)"
        )
    return static


def static_asset_for_url(url: str, static_dir: Path | None = None) -> Path | None:
    """The shipped file that answers a marimo CDN address, or ``None``.

    ``None`` means the address is not marimo's CDN, or names no shipped file (never a path
    outside the static folder).

    Examples
    --------
    >>> url = "https://cdn.jsdelivr.net/npm/@marimo-team/frontend@0.25.2/dist/favicon.ico"
    >>> static_asset_for_url(url).name
    'favicon.ico'
    >>> static_asset_for_url("https://example.org/app.js") is None
    True
    """
    match = MARIMO_CDN_PATTERN.match(url)
    if match is None:
        return None
    return _static_file(unquote(match.group(1)), static_dir or marimo_static_dir())


def _static_file(relative: str, static_dir: Path) -> Path | None:
    root = static_dir.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def rewrite_export(html: str) -> str:
    """The export's HTML with marimo's CDN addresses pointed at ``/_marimo/``.

    Examples
    --------
    >>> rewrite_export('<script src="https://cdn.jsdelivr.net/npm/'
    ...                '@marimo-team/frontend@0.25.2/dist/assets/index.js"></script>')
    '<script src="/_marimo/assets/index.js"></script>'
    """
    return MARIMO_CDN_PATTERN.sub(lambda m: _LOCAL_PREFIX + m.group(1), html)


class OfflineServer:
    """A localhost HTTP server for one exported report; use as a context manager.

    ``url`` is the report's address. Paths under ``/_marimo/`` are answered from marimo's
    shipped front end; every other path but the report itself is a 404.
    """

    def __init__(self, html_path: str | Path, *, host: str = "127.0.0.1", port: int = 0):
        path = Path(html_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no report at {path}; export one first: "
                f"marimo export html notebooks/NAME.py -o {path}"
            )
        page = rewrite_export(path.read_text(encoding="utf-8")).encode("utf-8")
        static = marimo_static_dir()
        self._httpd = ThreadingHTTPServer((host, port), _handler(page, static))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        bound_host, bound_port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}/"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OfflineServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _handler(page: bytes, static: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", page)
                return
            if path.startswith(_LOCAL_PREFIX):
                found = _static_file(path[len(_LOCAL_PREFIX) :], static)
                if found is not None:
                    kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
                    self._send(200, kind, found.read_bytes())
                    return
            self._send(404, "text/plain; charset=utf-8", b"not found")

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            # a report server in a test or notebook should not write to stderr per request
            return

    return Handler


def serve_offline(html_path: str | Path, *, host: str = "127.0.0.1", port: int = 0):
    """Serve an exported marimo report offline; returns a running :class:`OfflineServer`.

    Examples
    --------
    >>> import tempfile, urllib.request
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "r.html").write_text("<p>hello</p>")
    >>> with serve_offline(folder / "r.html") as server:
    ...     urllib.request.urlopen(server.url).read()
    b'<p>hello</p>'
    """
    return OfflineServer(html_path, host=host, port=port)
