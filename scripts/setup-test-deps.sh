#!/usr/bin/env bash
# Installs what the test suite needs. Idempotent: a second run only checks.
#   - python3 with the pinned onnx / onnxruntime / numpy (the conformance
#     suite and the light-model references are generated from these exact
#     versions, so the cache in .cache/ is keyed on the onnx version)
#   - a C compiler `cc` (tests link the generated objects into C programs)
set -euo pipefail

ONNX_VERSION=1.23.2
ORT_VERSION=1.32.0

PYTHON=${PYTHON:-python3}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "setup-test-deps: $PYTHON not found; install Python 3.9+ first" >&2
    exit 1
fi

have_pinned() {
    "$PYTHON" - "$ONNX_VERSION" "$ORT_VERSION" <<'PY' 2>/dev/null
import sys
import numpy, onnx, onnxruntime
ok = onnx.__version__ == sys.argv[1] and onnxruntime.__version__ == sys.argv[2]
sys.exit(0 if ok else 1)
PY
}

if have_pinned; then
    echo "setup-test-deps: onnx==$ONNX_VERSION onnxruntime==$ORT_VERSION already installed"
else
    echo "setup-test-deps: installing onnx==$ONNX_VERSION onnxruntime==$ORT_VERSION numpy"
    if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
        # Debian's python3 ships without pip.
        if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
        else
            echo "setup-test-deps: $PYTHON has no pip; install python3-pip" >&2
            exit 1
        fi
    fi
    # --break-system-packages: Debian's python refuses pip installs without it
    # (PEP 668); older pips do not know the flag, so fall back without it.
    pip_args=(install --quiet --disable-pip-version-check
        "onnx==$ONNX_VERSION" "onnxruntime==$ORT_VERSION" numpy)
    "$PYTHON" -m pip "${pip_args[@]}" 2>/dev/null \
        || "$PYTHON" -m pip "${pip_args[@]}" --break-system-packages
    have_pinned || { echo "setup-test-deps: pinned packages still not importable" >&2; exit 1; }
fi

if ! command -v cc >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "setup-test-deps: installing a C compiler (gcc)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
    fi
    command -v cc >/dev/null 2>&1 || { echo "setup-test-deps: no C compiler \`cc\` found" >&2; exit 1; }
fi
echo "setup-test-deps: cc = $(command -v cc)"
