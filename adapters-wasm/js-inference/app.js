// Example inference adapter in JavaScript (jco + componentize-js).
//
// Fetches a price series from the `PriceEndpoint` parameter (templated with `{Token}`,
// `{TopicId}`, `{BlockHeight}` and any other parameter) and predicts the next price as an
// exponentially weighted moving average with decay `Decay` (default 0.8; newer prices weigh
// more). Returns one value labelled "y".
//
// Build: npm install && npm run build  (writes ../dist/js_inference.wasm)

import { fetch } from "allora:adapter/http@0.1.0";
import { log } from "allora:adapter/log@0.1.0";

function render(template, ctx, params) {
  let url = template
    .replaceAll("{TopicId}", String(ctx.topicId))
    .replaceAll("{BlockHeight}", String(ctx.nonce));
  for (const [k, v] of Object.entries(params)) url = url.replaceAll(`{${k}}`, v);
  return url;
}

function parseSeries(text) {
  let data = JSON.parse(text);
  if (data && !Array.isArray(data)) data = data.prices ?? data.data;
  if (!Array.isArray(data) || data.length === 0) throw "expected a non-empty JSON array of prices";
  return data.map((x) => {
    const v = Number(Array.isArray(x) ? x[x.length - 1] : x);
    if (!Number.isFinite(v)) throw `not a price: ${JSON.stringify(x)}`;
    return v;
  });
}

function ewma(prices, decay) {
  let num = 0;
  let den = 0;
  let w = 1;
  for (let i = prices.length - 1; i >= 0; i--) {
    num += w * prices[i];
    den += w;
    w *= decay;
  }
  return num / den;
}

export const inference = {
  infer(ctx) {
    const params = Object.fromEntries(ctx.params);
    const template = params.PriceEndpoint;
    if (!template) throw "parameter PriceEndpoint is not set";
    const decay = params.Decay === undefined ? 0.8 : Number(params.Decay);
    if (!(decay > 0 && decay <= 1)) throw "Decay must be in (0, 1]";
    const url = render(template, ctx, params);
    let resp;
    try {
      resp = fetch({ method: "GET", url, headers: [], body: undefined });
    } catch (e) {
      const p = e && e.payload ? e.payload : e;
      throw `GET ${url}: ${p && p.tag ? p.tag + (p.val ? ": " + p.val : "") : String(p)}`;
    }
    if (resp.status < 200 || resp.status >= 300) throw `GET ${url}: HTTP status ${resp.status}`;
    const prices = parseSeries(new TextDecoder().decode(resp.body));
    const y = ewma(prices, decay);
    log("info", `ewma forecast over ${prices.length} prices: ${y}`);
    return [{ label: "y", value: String(y) }];
  },
};
