"""A real local webhook receiver for the tests of notices and briefings sent out by POST."""

from __future__ import annotations

import http.server
import json
import threading


class Receiver:
    """A real HTTP webhook on 127.0.0.1 that records the JSON bodies posted to it."""

    def __init__(self, port: int = 0) -> None:
        got = self.got = []

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", port), Hook)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
