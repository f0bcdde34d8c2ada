//go:build allora_forecast

// The `allora:adapter/forecast` export, compiled in with -tags allora_forecast.
package allora

//go:wasmexport allora:adapter/forecast@0.1.0#forecast
func exportForecast(topic uint64, nonce int64, paramsPtr, paramsLen, inferersPtr, inferersLen uint32) uint32 {
	if Forecast == nil {
		return returnErr(errUnset)
	}
	ctx := liftContext(topic, nonce, paramsPtr, paramsLen)
	values, err := Forecast(ctx, liftStringList(inferersPtr, inferersLen))
	if err != nil {
		return returnErr(err)
	}
	pairs := make([][2]string, len(values))
	for i, v := range values {
		pairs[i] = [2]string{v.Inferer, v.Value}
	}
	return returnPair(lowerPairs(pairs))
}
