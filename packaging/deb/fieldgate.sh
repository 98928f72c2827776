#!/bin/sh
# fieldgate: runs the gateway's CLI and daemon on the newest suitable Node.js (>= 20.19).
# NodeSource installs /usr/bin/node, the official binaries usually /usr/local/bin/node; FIELDGATE_NODE overrides.
set -e
for node in "${FIELDGATE_NODE:-}" /usr/bin/node /usr/local/bin/node "$(command -v node 2>/dev/null || true)"; do
  [ -n "$node" ] && [ -x "$node" ] || continue
  if "$node" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
    exec "$node" /usr/lib/fieldgate/dist/src/main.js "$@"
  fi
done
echo "fieldgate: Node.js >= 20.19 is required and none was found (see /usr/share/doc/fieldgate/README.md," \
  "or https://github.com/nodesource/distributions)" >&2
exit 69
