#!/usr/bin/env bash
# Installs what the LLVM backend (backends/llvm, inkwell feature llvm19-1)
# needs to build: the LLVM 19 development package and zstd (libLLVM links
# against it). Idempotent: a second run only checks.
# Afterwards build with LLVM_SYS_191_PREFIX=/usr/lib/llvm-19 (printed below).
set -euo pipefail

LLVM_PREFIX=/usr/lib/llvm-19
PKGS=(llvm-19-dev libzstd-dev)

have_all() {
    [ -x "$LLVM_PREFIX/bin/llvm-config" ] || return 1
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
    done
}

if have_all; then
    echo "setup-llvm: ${PKGS[*]} already installed"
else
    if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
        echo "setup-llvm: need root and apt-get to install ${PKGS[*]}" >&2
        exit 1
    fi
    echo "setup-llvm: installing ${PKGS[*]}"
    # Update only when the package is unknown, so a warm cache is not refetched.
    apt-cache show llvm-19-dev >/dev/null 2>&1 || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PKGS[@]}" >/dev/null
    have_all || { echo "setup-llvm: llvm-config not found under $LLVM_PREFIX after install" >&2; exit 1; }
fi
echo "setup-llvm: LLVM $("$LLVM_PREFIX/bin/llvm-config" --version); export LLVM_SYS_191_PREFIX=$LLVM_PREFIX"
