"""An HTTP server on a free port of this machine, serving from a daemon thread: the stand-ins the
soak and the tests put in front of a client (a misbehaving JSON-RPC node, a webhook receiver, a
metrics endpoint)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps http.server's line a request off stderr."""

    def log_message(self, *_args) -> None:
        pass


class LocalServer:
    """`handler` served on 127.0.0.1 at `url` (the port, then `path`) until `close()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], path: str = "") -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
