#!/usr/bin/env python3
"""Example `source` service for allora-node: a tiny price feed the shipped adapters read.

It plays the part of the Go node's sample Python `source` service: a model server the worker
asks for inferences and the reputer asks for ground truth. The prices are synthetic and
deterministic (no market data, no network access), so a demo or a test sees stable values.

Endpoints (all GET, plain text decimals unless noted):
  /inference/{token}             latest price prediction for `token` (Go `InferenceEndpoint`)
  /inference/{token}/{height}    prediction for the block after `height`
  /truth/{token}/{height}        ground truth at block `height` (Go `GroundTruthEndpoint`)
  /prices/{token}?n=N            JSON {"token", "prices": [...]} — the last N prices, oldest
                                 first, for model adapters that compute their own prediction
  /health                        "ok"

Standard library only, so the container is `python:3-slim` plus this file.
"""

import hashlib
import json
import math
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# Seconds per series step for the time-based endpoints; heights map to one step each.
STEP_SECONDS = float(os.environ.get("SOURCE_STEP_SECONDS", "5"))
MAX_SERIES = 1000
BASE_PRICES = {"ETH": 2500.0, "BTC": 60000.0, "SOL": 150.0}


def _noise(token: str, step: int) -> float:
    """Deterministic noise in [-1, 1) for (token, step)."""
    digest = hashlib.sha256(f"{token}:{step}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**63 - 1.0


def price(token: str, step: int) -> float:
    """Synthetic price: slow waves plus small noise around the token's base price."""
    token = token.upper()
    base = BASE_PRICES.get(token)
    if base is None:
        # Unknown tokens still get a stable base derived from their name.
        base = 10.0 + (int.from_bytes(hashlib.sha256(token.encode()).digest()[:2], "big") % 1000)
    wave = 0.02 * math.sin(step / 600.0) + 0.005 * math.sin(step / 97.0)
    return round(base * (1.0 + wave + 0.002 * _noise(token, step)), 6)


def current_step() -> int:
    return int(time.time() // STEP_SECONDS)


def fmt(value: float) -> str:
    # Plain decimal text, no exponent: the Go node and the http-source adapter parse it directly.
    return f"{value:.6f}".rstrip("0").rstrip(".")


class Handler(BaseHTTPRequestHandler):
    server_version = "allora-example-source/1"

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        if os.environ.get("SOURCE_QUIET") != "1":
            sys.stderr.write("source: " + (format % args) + "\n")

    def _send(self, status: int, body: str, content_type: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server naming
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        try:
            if parts == ["health"]:
                return self._send(200, "ok")
            if len(parts) == 2 and parts[0] == "inference":
                return self._send(200, fmt(price(parts[1], current_step() + 1)))
            if len(parts) == 3 and parts[0] == "inference":
                return self._send(200, fmt(price(parts[1], int(parts[2]) + 1)))
            if len(parts) == 3 and parts[0] == "truth":
                return self._send(200, fmt(price(parts[1], int(parts[2]))))
            if len(parts) == 2 and parts[0] == "prices":
                query = parse_qs(url.query)
                n = max(1, min(int(query.get("n", ["50"])[0]), MAX_SERIES))
                end = current_step()
                series = [price(parts[1], s) for s in range(end - n + 1, end + 1)]
                body = json.dumps({"token": parts[1].upper(), "prices": series})
                return self._send(200, body, "application/json")
        except ValueError as err:
            return self._send(400, f"bad request: {err}")
        return self._send(404, "not found")


def main() -> None:
    host = os.environ.get("SOURCE_HOST", "0.0.0.0")
    port = int(os.environ.get("SOURCE_PORT", "8000"))
    server = ThreadingHTTPServer((host, port), Handler)
    sys.stderr.write(f"source: listening on {host}:{server.server_address[1]}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
