"""Example inference adapter in Python (componentize-py).

Fetches a price series from the `PriceEndpoint` parameter (URL templated with `{Token}`,
`{TopicId}`, `{BlockHeight}` and any other parameter), fits a least-squares line through the
last `Window` prices (default 20) and predicts the next one. Returns one value labelled "y".

Build: componentize-py -d ../../wit -w inferer componentize app -o ../dist/py_inference.wasm
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import http, log
from wit_world.imports.types import CallContext, LabeledValue


def render(template: str, ctx: CallContext, params: dict) -> str:
    url = template.replace("{TopicId}", str(ctx.topic_id)).replace("{BlockHeight}", str(ctx.nonce))
    for key, value in params.items():
        url = url.replace("{" + key + "}", value)
    return url


def parse_series(body: str) -> list:
    data = json.loads(body)
    if isinstance(data, dict):
        data = data.get("prices", data.get("data"))
    if not isinstance(data, list) or not data:
        raise ValueError("expected a non-empty JSON array of prices")
    prices = []
    for item in data:
        if isinstance(item, list):
            item = item[-1]
        prices.append(float(item))
    return prices


def least_squares_next(ys: list) -> float:
    n = len(ys)
    if n == 1:
        return ys[0]
    mean_x = (n - 1) / 2
    mean_y = sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(ys))
    slope = sxy / sxx
    return mean_y + slope * (n - mean_x)


class Inference(exports.Inference):
    def infer(self, ctx: CallContext) -> list:
        params = dict(ctx.params)
        template = params.get("PriceEndpoint")
        if not template:
            raise Err("parameter PriceEndpoint is not set")
        url = render(template, ctx, params)
        try:
            resp = http.fetch(http.Request(method="GET", url=url, headers=[], body=None))
        except Err as e:
            raise Err(f"GET {url}: {e.value}")
        if not 200 <= resp.status < 300:
            raise Err(f"GET {url}: HTTP status {resp.status}")
        try:
            prices = parse_series(resp.body.decode("utf-8"))
            window = int(params.get("Window", "20"))
        except (ValueError, UnicodeDecodeError) as e:
            raise Err(f"bad input: {e}")
        y = least_squares_next(prices[-window:])
        log.log(log.Level.INFO, f"least-squares forecast over {min(window, len(prices))} prices: {y}")
        return [LabeledValue(label="y", value=repr(y))]
