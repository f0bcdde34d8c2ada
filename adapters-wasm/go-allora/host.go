// This file owns the contract's types and the imports every world has: http and log.
package allora

import (
	"errors"
	"fmt"
)

// CallContext is what the node knows about the call (WIT `call-context`).
type CallContext struct {
	TopicID uint64
	Nonce   int64
	// Params is the topic's `parameters` map from the node's config.
	Params map[string]string
}

// LabeledValue is one labelled output of an inference; single-output topics use label "y".
type LabeledValue struct{ Label, Value string }

// ForecastValue is a forecasted loss for one inferer (its bech32 address).
type ForecastValue struct{ Inferer, Value string }

// Role functions: set the ones your world exports (usually in init). The matching export is
// compiled in by the build tag allora_inference, allora_forecast, allora_ground_truth or
// allora_loss; a role whose function is unset answers with an error.
var (
	Infer         func(ctx CallContext) ([]LabeledValue, error)
	Forecast      func(ctx CallContext, inferers []string) ([]ForecastValue, error)
	GroundTruth   func(ctx CallContext) (string, error)
	Loss          func(ctx CallContext, groundTruth string, predictions []string) ([]string, error)
	NeverNegative func(ctx CallContext) (bool, error)
)

var errUnset = errors.New("role function not set in the Go adapter")

func liftContext(topic uint64, nonce int64, paramsPtr, paramsLen uint32) CallContext {
	params := map[string]string{}
	for _, kv := range liftPairs(paramsPtr, paramsLen) {
		params[kv[0]] = kv[1]
	}
	return CallContext{TopicID: topic, Nonce: nonce, Params: params}
}

// Request is an outbound HTTP request (WIT `http.request`). A nil Body sends none.
type Request struct {
	Method  string
	URL     string
	Headers [][2]string
	Body    []byte
}

// Response is what the node received (after redirects). Any status is a response.
type Response struct {
	Status  uint16
	Headers [][2]string
	Body    []byte
}

// HTTPError is why a request produced no response (WIT `http.error`).
type HTTPError struct {
	// Kind is the WIT case: denied, invalid-request, timeout, too-large, too-many-requests
	// or transport.
	Kind    string
	Message string
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return e.Kind
	}
	return e.Kind + ": " + e.Message
}

var httpErrorKinds = []string{"denied", "invalid-request", "timeout", "too-large", "too-many-requests", "transport"}

//go:wasmimport allora:adapter/http@0.1.0 fetch
func wasmimportFetch(methodPtr, methodLen, urlPtr, urlLen, headersPtr, headersLen, hasBody, bodyPtr, bodyLen, ret uint32)

// Fetch sends one request through the node, which enforces the adapter's allowedHosts.
func Fetch(req Request) (Response, error) {
	mp, ml := lowerString(req.Method)
	up, ul := lowerString(req.URL)
	hp, hl := lowerPairs(req.Headers)
	var hasBody, bp, bl uint32
	if req.Body != nil {
		hasBody = 1
		bp, bl = lowerBytes(req.Body)
	}
	// result<response, error>: discriminant at 0; response = status u16 at 4, headers at 8,
	// body at 16; error = case byte at 4, string payload at 8.
	ret := alloc(24)
	wasmimportFetch(mp, ml, up, ul, hp, hl, hasBody, bp, bl, ret)
	if mem(ret, 1)[0] == 0 {
		status := uint16(mem(ret+4, 2)[0]) | uint16(mem(ret+4, 2)[1])<<8
		return Response{
			Status:  status,
			Headers: liftPairs(loadU32(ret+8), loadU32(ret+12)),
			Body:    append([]byte(nil), mem(loadU32(ret+16), loadU32(ret+20))...),
		}, nil
	}
	kind := mem(ret+4, 1)[0]
	if int(kind) >= len(httpErrorKinds) {
		return Response{}, fmt.Errorf("http: unknown error case %d", kind)
	}
	e := &HTTPError{Kind: httpErrorKinds[kind]}
	switch e.Kind {
	case "denied", "invalid-request", "transport":
		e.Message = liftString(loadU32(ret+8), loadU32(ret+12))
	}
	return Response{}, e
}

// Get is Fetch with method GET and no headers or body.
func Get(url string) (Response, error) { return Fetch(Request{Method: "GET", URL: url}) }

// Level is a log severity (WIT `log.level`).
type Level uint32

const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

//go:wasmimport allora:adapter/log@0.1.0 log
func wasmimportLog(level, msgPtr, msgLen uint32)

// Log writes one message into the node's structured log.
func Log(level Level, message string) {
	p, l := lowerString(message)
	wasmimportLog(uint32(level), p, l)
}
