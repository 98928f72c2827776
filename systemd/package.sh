#!/usr/bin/env bash
# `npm run package [-- --arch arm64|x64|all] [--no-deb] [--no-compact] [--out DIR]`: builds the releases a Pi installs without compiling,
# from any Linux machine (cross-architecture: nothing is compiled here). For each architecture (both by default):
#   release/fieldgate-<version>-linux-<arch>.tar.gz   unpack, then: sudo ./systemd/install.sh
#   release/fieldgate_<version>_<debarch>.deb          sudo apt install ./fieldgate_<version>_<debarch>.deb
# Each holds dist/, the production node_modules, config/, systemd/, docs/ and web/ (the status page).
# Native addons: the prebuilt ones (classic-level, @serialport/bindings-cpp, usb) ship their binaries for every
# platform inside the npm package; the artifact keeps linux-<arch> only and checks each one with `file`.
# The Bluetooth HCI socket has no prebuilt binaries and is compiled per Node ABI, so it is left out: BLE needs
# `sudo systemd/build-ble.sh` on the device (README, "Install on a Raspberry Pi").
set -euo pipefail
cd "$(dirname "$0")/.."

arches=(arm64 x64)
deb=yes
compact=yes
out=release
while [ $# -gt 0 ]; do
  case "$1" in
    --arch)
      [ $# -ge 2 ] || { echo "package.sh: --arch needs arm64, x64 or all" >&2; exit 2; }
      case "$2" in
        arm64 | x64) arches=("$2") ;;
        all) arches=(arm64 x64) ;;
        *) echo "package.sh: unknown architecture $2 (arm64, x64 or all)" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --arch=*) set -- --arch "${1#--arch=}" "${@:2}" ;;
    --no-deb) deb=no; shift ;;
    --no-compact) compact=no; shift ;;
    --out)
      [ $# -ge 2 ] || { echo "package.sh: --out needs a directory" >&2; exit 2; }
      out=$2; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v file >/dev/null 2>&1 || { echo "package.sh: 'file' is needed to check native addons (apt install file)" >&2; exit 1; }

version=$(node -p 'require("./package.json").version')
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
t0=$SECONDS

if [ "${FIELDGATE_PACKAGE_SKIP_BUILD:-}" != 1 ]; then npm run build >&2; fi
# One arch-neutral tree first: the JavaScript and the production dependencies.
base="$stage/base"
mkdir -p "$base"
cp -r dist config systemd docs web package.json package-lock.json README.md LICENSE CHANGELOG.md "$base/"
# Test doubles and benchmarks are built for a checkout only: the emulators, the test fakes, bench/.
rm -rf "$base/dist/emulators" "$base/dist/test" "$base/dist/bench"
# Copy the contents, not the link: a worktree's node_modules may be a symlink, and the prune below must
# never reach the tree it points to.
mkdir -p "$base/node_modules"
cp -r node_modules/. "$base/node_modules/"
# Drop dev dependencies from the copy only; the working tree keeps them. --ignore-scripts: nothing is built.
(cd "$base" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund >&2)
# The dependencies' JavaScript, minified file by file: about 15 MiB less RSS with every radio loaded
# (docs/benchmarks.md#footprint). --no-compact ships them as npm installed them (readable library stack traces).
if [ "$compact" = yes ]; then node scripts/compact-js.mjs "$base/node_modules"; fi
echo "package.sh: production tree in $((SECONDS - t0)) s" >&2

# The machine names `file` prints for each Node architecture.
elf_pattern() {
  case "$1" in
    arm64) echo 'ELF 64-bit LSB .*ARM aarch64' ;;
    x64) echo 'ELF 64-bit LSB .*x86-64' ;;
  esac
}

for arch in "${arches[@]}"; do
  name="fieldgate-${version}-linux-${arch}"
  tree="$stage/$name"
  cp -a "$base" "$tree"
  # Prebuilt addons (prebuildify layout: prebuilds/<platform>-<arch>/*.node): keep linux-<arch> only.
  find "$tree/node_modules" -type d -name prebuilds -prune -print0 |
    while IFS= read -r -d '' dir; do
      find "$dir" -mindepth 1 -maxdepth 1 -type d ! -name "linux-${arch}" -exec rm -rf {} +
    done
  # Raspberry Pi OS and Debian use glibc: drop the musl (Alpine) builds. dlopen needs no execute bit.
  find "$tree/node_modules" -path '*/prebuilds/*' -name '*musl*.node' -delete
  find "$tree/node_modules" -name '*.node' -type f -exec chmod 0644 {} +
  # Packaging leftovers of the npm packages that no installed system needs (lint configs, VCS files, backups).
  find "$tree/node_modules" -type f \( -name '.eslintrc*' -o -name '.npmignore' -o -name '.gitignore' \
    -o -name '.gitattributes' -o -name '.travis.yml' -o -name '*~' \) -delete
  # Addons compiled on this machine at `npm install` (the HCI socket, NAN: one build per Node ABI) fit only
  # this machine's architecture and Node; none of them goes into a release.
  hci="$tree/node_modules/@abandonware/bluetooth-hci-socket"
  rm -rf "$hci/build" "$hci/lib/binding"
  find "$tree/node_modules" -type d \( -path '*/build/Release' -o -path '*/build/Debug' \) -prune -exec rm -rf {} +
  # Every addon left must be an ELF for the target; anything else means a package this script does not know.
  bad=0
  while IFS= read -r -d '' addon; do
    if ! file -b "$addon" | grep -q "$(elf_pattern "$arch")"; then
      echo "package.sh: ${addon#"$tree/"} is not a linux-$arch binary: $(file -b "$addon")" >&2
      bad=1
    fi
  done < <(find "$tree" -name '*.node' -type f -print0)
  [ "$bad" = 0 ] || { echo "package.sh: refusing to build $name" >&2; exit 1; }
  mkdir -p "$out"
  tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
  echo "$out/$name.tar.gz"
  if [ "$deb" = yes ]; then
    bash packaging/deb/build-deb.sh "$tree" "$arch" "$version" "$out"
  fi
  rm -rf "$tree"
done
echo "package.sh: done in $((SECONDS - t0)) s" >&2
