//go:build allora_loss

// The `allora:adapter/loss` exports, compiled in with -tags allora_loss.
package allora

//go:wasmexport allora:adapter/loss@0.1.0#loss
func exportLoss(topic uint64, nonce int64, paramsPtr, paramsLen, truthPtr, truthLen, predsPtr, predsLen uint32) uint32 {
	if Loss == nil {
		return returnErr(errUnset)
	}
	ctx := liftContext(topic, nonce, paramsPtr, paramsLen)
	losses, err := Loss(ctx, liftString(truthPtr, truthLen), liftStringList(predsPtr, predsLen))
	if err != nil {
		return returnErr(err)
	}
	return returnPair(lowerStringList(losses))
}

//go:wasmexport allora:adapter/loss@0.1.0#never-negative
func exportNeverNegative(topic uint64, nonce int64, paramsPtr, paramsLen uint32) uint32 {
	if NeverNegative == nil {
		return returnErr(errUnset)
	}
	b, err := NeverNegative(liftContext(topic, nonce, paramsPtr, paramsLen))
	if err != nil {
		return returnErr(err)
	}
	return returnBool(b)
}
