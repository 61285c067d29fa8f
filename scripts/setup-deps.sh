#!/usr/bin/env bash
# Installs everything lazywq needs to build and test, on Debian 12 (bookworm),
# as root. Idempotent: when every package is already installed it does
# nothing (no apt-get update), so repeated runs cost a second.
set -euo pipefail

PACKAGES=(
  cmake ninja-build
  clang-14 libclang-rt-14-dev llvm-14 g++
  googletest libgtest-dev libgmock-dev
  librapidcheck-dev relacy-dev libbenchmark-dev
  libboost-context1.81-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libpugixml-dev
  jq python3-yaml  # the gate's reports; the workflow check (ci/check_workflow.py)
  libtbb-dev libasio-dev libglib2.0-dev libeigen3-dev pkg-config  # bench/: the peers
  gnuplot-nox  # bench/: the plots
  python3-clang-14 ccache  # mutation/: the sites from the engine's syntax (libclang); incremental mutant builds
)

missing=()
for p in "${PACKAGES[@]}"; do
  # dpkg -s succeeds for removed-but-configured packages too; check the status.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "setup-deps: must run as root (or with sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "setup-deps: done"
