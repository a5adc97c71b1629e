"""A second local web server on another port: another origin (same site, as ports do not
count for SameSite) whose pages try to use the portal's cookie session."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serving(pages: dict[str, tuple[str, dict[str, str]]]) -> Iterator[str]:
    """``pages``: path -> (HTML, extra headers). Yields the origin, http://localhost:<port>."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, headers = pages.get(self.path, ("not found", {}))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("localhost", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
