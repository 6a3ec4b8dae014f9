#!/usr/bin/env bash
# Builds the Debian package from a finished build directory, inspects it, unpacks it into a
# scratch root, runs the installed pretext-train headless and the installed pretext under
# Xvfb for a screenshot, and runs lintian. Usage: test_package.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$WORK/out" >"$WORK/cpack.log" 2>&1 \
  || { cat "$WORK/cpack.log"; fail "cpack"; }
DEB=$(ls "$WORK"/out/pretext_*_amd64.deb)
echo "package: $(basename "$DEB") ($(du -k "$DEB" | cut -f1) KiB)"

# Control fields: the distribution's own Qt 6, VTK and LibTorch, found by dpkg-shlibdeps.
INFO=$(dpkg-deb -I "$DEB")
for dep in libtorch1.13 libvtk9.1 libqt6widgets6 libqt6charts6 libyaml-cpp0.7 qt6-qpa-plugins; do
  grep -q "Depends:.*$dep" <<<"$INFO" || fail "Depends lacks $dep"
done
grep -q "^ Package: pretext$" <<<"$INFO" || fail "package name"
# Files.
FILES=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in usr/bin/pretext usr/bin/pretext-train usr/bin/pretext-export usr/bin/pretext-data \
    usr/bin/pretext-study usr/share/applications/pretext.desktop \
    usr/share/icons/hicolor/scalable/apps/pretext.svg usr/share/man/man1/pretext.1.gz \
    usr/share/man/man1/pretext-train.1.gz usr/share/man/man1/pretext-export.1.gz \
    usr/share/doc/pretext/examples/pretext-train.sbatch \
    usr/share/pretext/presets/default.yaml usr/share/pretext/presets/essl-full.yaml \
    usr/share/pretext/data/tinyshakespeare.txt usr/share/doc/pretext/copyright; do
  grep -qx "./$f" <<<"$FILES" || fail "missing $f"
done
# The dependencies resolve on this machine (simulated install, no changes).
if command -v apt-get >/dev/null; then
  apt-get install -s "$DEB" >"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log"; fail "dependencies do not resolve"; }
fi

# Unpack into a scratch root and run from there.
ROOT="$WORK/root"
dpkg -x "$DEB" "$ROOT"
"$ROOT/usr/bin/pretext-train" --version | grep -q "libtorch" || fail "pretext-train --version"
"$ROOT/usr/bin/pretext" --version | grep -q "vtk 9" || fail "pretext --version"
"$ROOT/usr/bin/pretext-train" quick-test --quiet --max-steps 4 --out "$WORK/runs" \
  || fail "installed pretext-train did not finish"
RUN=$(ls -d "$WORK"/runs/*)
grep -q '"phase": *"finished"' "$RUN/status.json" || fail "run not finished: $(cat "$RUN/status.json")"
"$ROOT/usr/bin/pretext-export" "$RUN" --weights "$WORK/enc.pt" >/dev/null || fail "pretext-export"
test -s "$WORK/enc.pt" || fail "no exported weights"
# help2man escapes hyphens: \-\-help\-config.
zcat "$ROOT/usr/share/man/man1/pretext-train.1.gz" | grep -qF 'help\-config' \
  || fail "man page lacks options"

export HOME="$WORK/home"  # no settings from the user running the test
mkdir -p "$HOME"
xvfb-run -a -s "-screen 0 1600x1000x24" "$ROOT/usr/bin/pretext" --run quick-test --max-steps 6 \
  --out "$WORK/gui-runs" --screenshot "$WORK/shot.png" --exit-when-done >"$WORK/gui.log" 2>&1 \
  || { cat "$WORK/gui.log"; fail "installed pretext"; }
# A PNG of the whole window: signature and IHDR width/height.
python3 - "$WORK/shot.png" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert w >= 800 and h >= 600, (w, h)
assert len(data) > 20000, len(data)
print(f"screenshot {w}x{h}, {len(data)} bytes")
PY

if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$ROOT/usr/share/applications/pretext.desktop" || fail "desktop file"
fi
# lintian: no errors and no warnings; informational tags are listed in docs/packaging.md.
if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 "$DEB" >"$WORK/lintian.log" 2>&1 || true
  grep -v "root privileges" "$WORK/lintian.log" || true
  if grep -qE "^(E|W):" "$WORK/lintian.log"; then fail "lintian errors or warnings"; fi
fi
echo "packaging: OK"
