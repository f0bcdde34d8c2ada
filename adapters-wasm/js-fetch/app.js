// Example inference adapter in JavaScript using the standard `fetch()`.
//
// componentize-js turns `fetch()` into `wasi:http/outgoing-handler` calls; the node offers
// that interface under exactly the same rules as its own `allora:adapter/http` import
// (the adapter's `allowedHosts`, the private-address rules, no automatic redirects, body and
// request-count caps, the call's time budget). Nothing here is node-specific except the WIT
// export, so ordinary JavaScript HTTP code works unchanged.
//
// Fetches a JSON price series from the `PriceEndpoint` parameter (templated with `{Token}`,
// `{TopicId}`, `{BlockHeight}` and any other parameter; a bare array, `{"prices": [...]}` or
// `{"data": [...]}`, items may be numbers, numeric strings or `[time, price]` pairs) and
// returns the simple moving average of the last `Window` prices (default 3), labelled "y".
//
// Build: npm ci && npm run build  (writes ../dist/js_fetch.wasm)

function render(template, ctx, params) {
  let url = template
    .replaceAll("{TopicId}", String(ctx.topicId))
    .replaceAll("{BlockHeight}", String(ctx.nonce));
  for (const [k, v] of Object.entries(params)) url = url.replaceAll(`{${k}}`, v);
  return url;
}

function parseSeries(data) {
  if (data && !Array.isArray(data)) data = data.prices ?? data.data;
  if (!Array.isArray(data) || data.length === 0) throw "expected a non-empty JSON array of prices";
  return data.map((x) => {
    const v = Number(Array.isArray(x) ? x[x.length - 1] : x);
    if (!Number.isFinite(v)) throw `not a price: ${JSON.stringify(x)}`;
    return v;
  });
}

// `fetch` may reject with an Error (or, from the host, a plain object); the WIT result wants
// a string.
function describe(e) {
  if (typeof e === "string") return e;
  if (e && e.message) return e.message;
  return String(e);
}

export const inference = {
  async infer(ctx) {
    const params = Object.fromEntries(ctx.params);
    const template = params.PriceEndpoint;
    if (!template) throw "parameter PriceEndpoint is not set";
    const window = params.Window === undefined ? 3 : Number(params.Window);
    if (!(Number.isInteger(window) && window > 0)) throw "Window must be a positive integer";
    const url = render(template, ctx, params);
    let resp;
    try {
      resp = await fetch(url, { headers: { accept: "application/json" }, redirect: "manual" });
    } catch (e) {
      throw `GET ${url}: ${describe(e)}`;
    }
    if (!resp.ok) throw `GET ${url}: HTTP status ${resp.status}`;
    let data;
    try {
      data = await resp.json();
    } catch (e) {
      throw `GET ${url}: the body is not JSON: ${describe(e)}`;
    }
    const prices = parseSeries(data).slice(-window);
    const y = prices.reduce((a, b) => a + b, 0) / prices.length;
    return [{ label: "y", value: String(y) }];
  },
};
