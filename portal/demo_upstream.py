"""A tiny upstream for the demo: answers the bundled Inventory API's paths.

`python -m portal.demo_upstream --port 9101 --name inventory-a` — JSON answers, a
/health endpoint for the checkers, and the instance name in every response so a
load-balanced call shows which instance served it.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEMS = {
    "sku-1": {"sku": "sku-1", "name": "Blue mug", "quantity": 12},
    "sku-2": {"sku": "sku-2", "name": "Desk lamp", "quantity": 3},
}


class DemoHandler(BaseHTTPRequestHandler):
    server_version = "meshgate-demo"
    instance_name = "demo"

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", self.instance_name)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/health":
            self._send(200, {"status": "ok", "instance": self.instance_name})
        elif path == "/items":
            self._send(200, {"items": list(ITEMS.values()), "instance": self.instance_name})
        elif path.startswith("/items/") and path.count("/") == 2:
            item = ITEMS.get(path.rsplit("/", 1)[1])
            self._send(200 if item else 404, item or {"detail": "no such item"})
        else:
            self._send(404, {"detail": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            item = json.loads(raw)
        except ValueError:
            self._send(400, {"detail": "body must be JSON"})
            return
        self._send(201, {"created": item, "instance": self.instance_name})

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the demo stays quiet; the gateway logs requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="demo")
    args = parser.parse_args()
    handler = type("Handler", (DemoHandler,), {"instance_name": args.name})
    with ThreadingHTTPServer((args.host, args.port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
