//go:build allora_inference

// The `allora:adapter/inference` export, compiled in with -tags allora_inference.
package allora

//go:wasmexport allora:adapter/inference@0.1.0#infer
func exportInfer(topic uint64, nonce int64, paramsPtr, paramsLen uint32) uint32 {
	if Infer == nil {
		return returnErr(errUnset)
	}
	values, err := Infer(liftContext(topic, nonce, paramsPtr, paramsLen))
	if err != nil {
		return returnErr(err)
	}
	pairs := make([][2]string, len(values))
	for i, v := range values {
		pairs[i] = [2]string{v.Label, v.Value}
	}
	return returnPair(lowerPairs(pairs))
}
