#!/usr/bin/env bash
# Installs what cross-compiling and running the examples for RISC-V and
# AArch64 needs (Debian/Ubuntu): cross gcc + glibc and qemu user mode.
# Idempotent: installs nothing when every tool is already there.
set -euo pipefail
tools=(riscv64-linux-gnu-gcc aarch64-linux-gnu-gcc qemu-riscv64 qemu-aarch64)
missing=0
for t in "${tools[@]}"; do
    command -v "$t" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = 0 ]; then
    echo "setup-cross: ${tools[*]} already installed"
    exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y gcc-riscv64-linux-gnu gcc-aarch64-linux-gnu qemu-user
