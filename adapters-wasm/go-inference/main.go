// Example inference adapter in Go (Go's own compiler, GOOS=wasip1 GOARCH=wasm, reactor build).
//
// Fetches a price series from the `PriceEndpoint` parameter (URL templated with `{Token}`,
// `{TopicId}`, `{BlockHeight}` and any other parameter) and returns the median of the last
// `Window` prices (default 5), labelled "y". The median ignores a single bad tick that would
// drag a mean, which is why it is the example here.
//
// Build: ./build.sh [OUT.wasm] (go build -tags allora_inference, then wasm-tools component
// embed/new with the WASI preview1 reactor adapter); default output ../dist/go_inference.wasm.
// The canonical-ABI glue is ../go-allora (package allora).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"allora.local/glue"
)

// The role is wired in init: a reactor's main never runs, but init runs when the host calls
// `_initialize` while instantiating the component.
func init() {
	allora.Infer = infer
}

func infer(ctx allora.CallContext) ([]allora.LabeledValue, error) {
	y, err := medianOfSeries(ctx)
	if err != nil {
		return nil, err
	}
	value := strconv.FormatFloat(y, 'g', -1, 64)
	allora.Log(allora.LevelInfo, "median forecast: "+value)
	return []allora.LabeledValue{{Label: "y", Value: value}}, nil
}

func medianOfSeries(ctx allora.CallContext) (float64, error) {
	template := ctx.Params["PriceEndpoint"]
	if template == "" {
		return 0, errors.New("parameter PriceEndpoint is not set")
	}
	window := 5
	if w, ok := ctx.Params["Window"]; ok {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("parameter Window must be a positive integer, got %q", w)
		}
		window = n
	}
	url := render(template, ctx)
	resp, err := allora.Get(url)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return 0, fmt.Errorf("GET %s: HTTP status %d", url, resp.Status)
	}
	prices, err := parseSeries(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(prices) > window {
		prices = prices[len(prices)-window:]
	}
	return median(prices), nil
}

func render(template string, ctx allora.CallContext) string {
	url := strings.ReplaceAll(template, "{TopicId}", strconv.FormatUint(ctx.TopicID, 10))
	url = strings.ReplaceAll(url, "{BlockHeight}", strconv.FormatInt(ctx.Nonce, 10))
	for k, v := range ctx.Params {
		url = strings.ReplaceAll(url, "{"+k+"}", v)
	}
	return url
}

// parseSeries accepts `[p, …]`, `[[t, p], …]` (last element is the price) or an object with
// a `prices`/`data` array of either shape.
func parseSeries(body []byte) ([]float64, error) {
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	if obj, ok := raw.(map[string]any); ok {
		if v, ok := obj["prices"]; ok {
			raw = v
		} else {
			raw = obj["data"]
		}
	}
	items, ok := raw.([]any)
	if !ok || len(items) == 0 {
		return nil, errors.New("expected a non-empty JSON array of prices")
	}
	prices := make([]float64, 0, len(items))
	for _, item := range items {
		if pair, ok := item.([]any); ok && len(pair) > 0 {
			item = pair[len(pair)-1]
		}
		switch v := item.(type) {
		case float64:
			prices = append(prices, v)
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, fmt.Errorf("price %q is not a number", v)
			}
			prices = append(prices, f)
		default:
			return nil, fmt.Errorf("price %v is not a number", item)
		}
	}
	return prices, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

// main is required by the Go toolchain but never runs in a reactor (-buildmode=c-shared).
func main() {}
