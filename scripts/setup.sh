#!/usr/bin/env bash
# Installs everything Pretext needs on Debian 12 (bookworm) from Debian's own packages.
# Idempotent; uses sudo when not root. Usage: scripts/setup.sh
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config binutils
  # GUI: Qt 6 widgets/charts/OpenGL/SVG, VTK 9 (its CMake config needs MPI's C headers)
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev libqt6svg6-dev libvtk9-dev libx11-dev
  # core: LibTorch (CPU), YAML and JSON
  libtorch-dev libgloo-dev libyaml-cpp-dev nlohmann-json3-dev zlib1g-dev
  # LibTorch on reference BLAS is ~35x slower here: OpenBLAS (pthreads) takes over libblas
  libopenblas0-pthread
  # tests: Catch2 v2, a virtual X server with software OpenGL (Mesa llvmpipe), fonts
  catch2 xvfb xauth libgl1-mesa-dri fonts-dejavu-core
  # reader fuzzing: clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
  # benchmark peers and export checks (Python PyTorch, NumPy and Open3D from Debian)
  python3-torch python3-numpy python3-open3d python3-protobuf
  # packaging: man pages from --help, .deb dependency discovery and checks
  help2man dpkg-dev fakeroot lintian desktop-file-utils
  # figure export checks: pdfinfo, pdftotext, pdffonts, pdftoppm
  poppler-utils
  # reliability tests: ss (the store's listening address), unshare (a private tmpfs that
  # fills up)
  iproute2 util-linux
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
