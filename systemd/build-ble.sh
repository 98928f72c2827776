#!/usr/bin/env bash
# Builds the Bluetooth HCI socket (the one native module a release does not ship) for this machine's Node.js:
#   sudo /usr/lib/fieldgate/systemd/build-ble.sh
# The module uses NAN, so a build loads only on the Node major it was compiled for: run this again after
# upgrading Node to a new major. Needs a compiler and Python: sudo apt install build-essential python3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/node_modules/@abandonware/bluetooth-hci-socket"
[ -d "$dir" ] || { echo "build-ble.sh: $dir is missing; is $root a fieldgate release?" >&2; exit 1; }
node=${FIELDGATE_NODE:-$(command -v node || true)}
[ -n "$node" ] || { echo "build-ble.sh: node not found (set FIELDGATE_NODE)" >&2; exit 1; }
command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1 ||
  { echo "build-ble.sh: needs make, g++ and python3: sudo apt install build-essential python3" >&2; exit 1; }
# The headers of the Node that will load the module: NodeSource installs them in /usr/include/node, the official
# binaries in <prefix>/include/node; otherwise node-gyp downloads them.
nodedir=()
node_prefix=$(cd "$(dirname "$(readlink -f "$node")")/.." && pwd)
if [ -f "$node_prefix/include/node/node_version.h" ]; then nodedir=(--nodedir="$node_prefix"); fi
# node-pre-gyp supplies the module name and path the package's binding.gyp expects, then runs node-gyp.
(cd "$dir" && "$node" "$root/node_modules/@mapbox/node-pre-gyp/bin/node-pre-gyp" rebuild --build-from-source \
  "${nodedir[@]}")
"$node" -e 'require(process.argv[1])' "$dir"
echo "build-ble.sh: the Bluetooth module loads on Node $("$node" --version); restart the service:" \
  "sudo systemctl restart fieldgate"
