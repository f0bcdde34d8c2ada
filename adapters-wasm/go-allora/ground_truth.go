//go:build allora_ground_truth

// The `allora:adapter/ground-truth` export, compiled in with -tags allora_ground_truth.
package allora

//go:wasmexport allora:adapter/ground-truth@0.1.0#ground-truth
func exportGroundTruth(topic uint64, nonce int64, paramsPtr, paramsLen uint32) uint32 {
	if GroundTruth == nil {
		return returnErr(errUnset)
	}
	value, err := GroundTruth(liftContext(topic, nonce, paramsPtr, paramsLen))
	if err != nil {
		return returnErr(err)
	}
	return returnPair(lowerString(value))
}
