#!/usr/bin/env python3
"""Writes ir/tests/data/minifloat_golden.bin: what onnx/ml_dtypes give for the
float8/float4/E8M0 conversions, the oracle of ir/tests/minifloat.rs.

    python3 scripts/gen_minifloat_golden.py

Layout (little-endian): u32 N, N f32 inputs; then for each type of TYPES,
256 f32 bits of decode(byte) (`astype(float32)`), N bytes of the saturating
encode (`onnx.numpy_helper.saturate_cast`, E8M0: `to_float8e8m0`) and N bytes
of the non-saturating one (`astype`, E8M0: `to_float8e8m0(saturate=False)`).
"""
import os
import struct

import ml_dtypes
import numpy as np
from onnx import numpy_helper

TYPES = [  # (onnx code, ml_dtypes type)
    (17, ml_dtypes.float8_e4m3fn),
    (18, ml_dtypes.float8_e4m3fnuz),
    (19, ml_dtypes.float8_e5m2),
    (20, ml_dtypes.float8_e5m2fnuz),
    (23, ml_dtypes.float4_e2m1fn),
    (24, ml_dtypes.float8_e8m0fnu),
]


def inputs():
    rng = np.random.default_rng(7)
    vals = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 3.4e38, -3.4e38]
    for _, t in TYPES:
        dec = np.arange(256, dtype=np.uint8).view(t).astype(np.float32)
        dec = dec[np.isfinite(dec)]
        vals += list(dec)
        # Midpoints between neighbours (ties) and one f32 ulp either side.
        s = np.unique(np.abs(dec))
        mids = ((s[1:].astype(np.float64) + s[:-1]) / 2).astype(np.float32)
        ext = np.float32(s[-1]) * np.float32(1.0 + 2.0 ** -4)
        for m in list(mids) + [ext, s[-1] * 2, s[-1] * 1.25]:
            m = np.float32(m)
            for v in (m, np.nextafter(m, np.float32(np.inf)), np.nextafter(m, np.float32(0))):
                vals += [v, -v]
    bits = rng.integers(0, 2**32, size=2000, dtype=np.uint64).astype(np.uint32)
    vals += list(bits.view(np.float32))
    vals += list(rng.normal(0, 10, size=500).astype(np.float32))
    return np.array(vals, dtype=np.float32)


def main():
    x = inputs()
    out = bytearray(struct.pack("<I", len(x)))
    out += x.tobytes()
    with np.errstate(all="ignore"):
        for code, t in TYPES:
            out += np.arange(256, dtype=np.uint8).view(t).astype(np.float32).tobytes()
            if code == 24:
                sat = numpy_helper.to_float8e8m0(x, saturate=True, round_mode="up")
                nosat = numpy_helper.to_float8e8m0(x, saturate=False, round_mode="up")
            else:
                sat = numpy_helper.saturate_cast(x, t)
                nosat = x.astype(t)
            out += sat.view(np.uint8).tobytes() + nosat.view(np.uint8).tobytes()
    path = os.path.join(os.path.dirname(__file__), "..", "ir", "tests", "data", "minifloat_golden.bin")
    with open(path, "wb") as f:
        f.write(out)
    print(f"{len(x)} inputs, {len(out)} bytes -> {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
