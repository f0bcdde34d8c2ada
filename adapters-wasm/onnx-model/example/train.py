#!/usr/bin/env python3
"""Worked example for the onnx-model adapter: trains a small scikit-learn regressor on
synthetic data (fixed seed, so every run gives the same model), exports it to ONNX with
skl2onnx, and records sklearn's own prediction for one feature row.

Usage: train.py OUT_DIR [--features 0.5,-1.2,2.0,0.1]
Writes OUT_DIR/model.onnx (mount OUT_DIR at /model) and OUT_DIR/expected.json:
{"features": [...], "prediction": <sklearn, float64>, "features_param": "<Features value>"}.

Needs (pinned in scripts/test's setup tier): numpy, scikit-learn, skl2onnx, onnx.
"""

import argparse
import json
import os
import sys

try:
    import numpy as np
    from sklearn.linear_model import LinearRegression
    from skl2onnx import to_onnx
except ImportError as e:  # the e2e test shows this text when the venv lacks the packages
    sys.exit(
        f"train.py: {e}. Install the pinned packages with ./scripts/test setup "
        "(numpy, scikit-learn, skl2onnx, onnx into .venv/)."
    )

N_FEATURES = 4
COEF = np.array([1.5, -2.0, 0.5, 3.0])
INTERCEPT = 10.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--features", default="0.5,-1.25,2.0,0.75")
    args = ap.parse_args()
    features = [float(v) for v in args.features.split(",")]
    if len(features) != N_FEATURES:
        sys.exit(f"train.py: --features needs {N_FEATURES} numbers, got {len(features)}")

    rng = np.random.default_rng(12)
    x = rng.normal(size=(500, N_FEATURES))
    y = x @ COEF + INTERCEPT + rng.normal(scale=0.1, size=500)
    model = LinearRegression().fit(x, y)

    # skl2onnx types the input as float32 [None, N_FEATURES] from the sample.
    onx = to_onnx(model, x[:1].astype(np.float32), target_opset={"": 17, "ai.onnx.ml": 3})
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "model.onnx"), "wb") as f:
        f.write(onx.SerializeToString())

    prediction = float(model.predict(np.array([features]))[0])
    expected = {
        "features": features,
        "features_param": ",".join(repr(v) for v in features),
        "prediction": prediction,
    }
    with open(os.path.join(args.out_dir, "expected.json"), "w") as f:
        json.dump(expected, f)
    print(json.dumps(expected))


if __name__ == "__main__":
    main()
