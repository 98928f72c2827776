#!/usr/bin/env bash
# `npm run package`: builds the release tarball a Pi installs with systemd/install.sh, so nothing is compiled
# on the device. Contains dist/, production node_modules, config/, systemd/ and docs/.
# Native modules (classic-level, serialport, HCI) are per architecture: run this on (or for) the target,
# e.g. an arm64 CI runner for Raspberry Pi OS 64-bit.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p 'require("./package.json").version')
arch=$(node -p 'process.arch')
name="fieldgate-${version}-linux-${arch}"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

npm run build >&2
mkdir -p "$stage/$name"
cp -r dist config systemd docs package.json package-lock.json README.md "$stage/$name/"
# Test doubles and benchmarks are built for a checkout only: the emulators, the test fakes, bench/.
rm -rf "$stage/$name/dist/emulators" "$stage/$name/dist/test" "$stage/$name/dist/bench"
# Copy the contents, not the link: a worktree's node_modules may be a symlink, and the prune below must
# never reach the tree it points to.
mkdir -p "$stage/$name/node_modules"
cp -r node_modules/. "$stage/$name/node_modules/"
# Drop dev dependencies from the copy only; the working tree keeps them.
(cd "$stage/$name" && npm prune --omit=dev --no-audit --no-fund >&2)
mkdir -p release
tar -C "$stage" -czf "release/$name.tar.gz" "$name"
echo "release/$name.tar.gz"
