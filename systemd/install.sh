#!/usr/bin/env bash
# Installs a fieldgate release on a Debian-family system (Raspberry Pi OS 64-bit and others) with systemd and
# Node >= 20.19. Run as root from an unpacked release (see `npm run package`):
#   sudo ./systemd/install.sh [--ble]
# Idempotent: re-running upgrades the code and keeps /etc/fieldgate and /var/lib/fieldgate as they are.
set -euo pipefail

ble=no
for arg in "$@"; do
  case "$arg" in
    --ble) ble=yes ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
release=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$release/dist/src/main.js" ] || { echo "install.sh: $release has no dist/; install a built release" >&2; exit 1; }

node_bin=$(command -v node || true)
[ -n "$node_bin" ] || { echo "install.sh: Node.js >= 20.19 is required (apt install nodejs, or NodeSource)" >&2; exit 1; }
"$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  { echo "install.sh: Node.js >= 20.19 is required, found $("$node_bin" --version)" >&2; exit 1; }
case "$(uname -m)" in
  armv6l) echo "install.sh: armv6 (Pi 1, Pi Zero) cannot run a current Node.js" >&2; exit 1 ;;
  armv7l) echo "install.sh: warning: 32-bit ARM; prefer 64-bit Raspberry Pi OS" >&2 ;;
esac

# The code: replaced as a whole, never edited in place.
install -d -m 0755 /usr/lib/fieldgate
rm -rf /usr/lib/fieldgate.new
cp -a "$release" /usr/lib/fieldgate.new
rm -rf /usr/lib/fieldgate.old
mv /usr/lib/fieldgate /usr/lib/fieldgate.old
mv /usr/lib/fieldgate.new /usr/lib/fieldgate
rm -rf /usr/lib/fieldgate.old
cat > /usr/bin/fieldgate <<WRAPPER
#!/bin/sh
exec "$node_bin" /usr/lib/fieldgate/dist/src/main.js "\$@"
WRAPPER
chmod 0755 /usr/bin/fieldgate

# The user and its groups (static, so file ownership survives reinstalls): fieldgate is the service's own
# group (config, secrets, state), fieldgate-cli the CLI users' (the control socket only).
install -D -m 0644 /usr/lib/fieldgate/systemd/fieldgate.sysusers /usr/lib/sysusers.d/fieldgate.conf
systemd-sysusers /usr/lib/sysusers.d/fieldgate.conf
[ "$ble" = no ] || usermod -a -G bluetooth fieldgate 2>/dev/null || true
# Before this release CLI users were told to join group fieldgate, which reads secrets.yaml and writes the
# queue. Name them; moving people between groups is the admin's call, not an installer's.
for member in $(getent group fieldgate | cut -d: -f4 | tr ',' ' '); do
  [ "$member" = fieldgate ] && continue
  echo "install.sh: warning: $member is in group fieldgate, which can read /etc/fieldgate/secrets.yaml and write" \
    "/var/lib/fieldgate; for the CLI, fieldgate-cli is enough: sudo gpasswd -d $member fieldgate && sudo usermod -aG fieldgate-cli $member" >&2
done

# The config: the minimal one (no radio, no simulated device, a broker on this host only) when there is none;
# an existing one is never overwritten. The annotated reference (docs/) is never installed as a config.
install -d -m 0750 -o root -g fieldgate /etc/fieldgate
# Credentials (`fieldgate init` writes them, 0600): the unit loads them with LoadCredential=; root only.
install -d -m 0700 -o root -g root /etc/fieldgate/credentials
if [ ! -e /etc/fieldgate/fieldgate.yaml ]; then
  install -m 0640 -o root -g fieldgate /usr/lib/fieldgate/config/fieldgate.yaml /etc/fieldgate/fieldgate.yaml
  echo "install.sh: wrote /etc/fieldgate/fieldgate.yaml (no radios; forwards to mqtt://127.0.0.1:1883)." \
    "For your cloud and radios: sudo fieldgate init --output /etc/fieldgate/fieldgate.yaml --force"
fi
# Config and secrets: written by root, read by the service (group fieldgate), by nobody else.
find /etc/fieldgate -maxdepth 1 -type f \( -perm /o=rwx -o -perm /g=wx \) -print0 |
  while IFS= read -r -d '' file; do
    chgrp fieldgate "$file"
    chmod g-wx,o-rwx "$file"
    echo "install.sh: $file was open to more than root and group fieldgate; it is now $(stat -c %a "$file")"
  done
install -D -m 0644 /usr/lib/fieldgate/config/fieldgate.schema.json /usr/share/fieldgate/fieldgate.schema.json

# The unit, with ExecStart pointing at the node found above.
sed "s#/usr/bin/node #$node_bin #" /usr/lib/fieldgate/systemd/fieldgate.service > /etc/systemd/system/fieldgate.service
if [ "$ble" = yes ]; then
  install -D -m 0644 /usr/lib/fieldgate/systemd/fieldgate-ble.conf /etc/systemd/system/fieldgate.service.d/ble.conf
fi
systemctl daemon-reload
# Start only a config that validates (a bad one would exit 78 at once); an upgrade restarts a running daemon,
# whose code was just replaced.
if fieldgate config validate /etc/fieldgate/fieldgate.yaml; then
  systemctl enable fieldgate.service
  if systemctl is-active --quiet fieldgate.service; then
    systemctl try-restart fieldgate.service
  else
    systemctl start fieldgate.service
  fi
  echo "install.sh: fieldgate is running; check it with: fieldgate status"
else
  echo "install.sh: /etc/fieldgate/fieldgate.yaml does not validate (the problems are listed above); not started." \
    "Next: fix it (or: sudo fieldgate init --output /etc/fieldgate/fieldgate.yaml --force)," \
    "then: sudo fieldgate config validate /etc/fieldgate/fieldgate.yaml && sudo systemctl enable --now fieldgate" >&2
  if systemctl is-active --quiet fieldgate.service; then
    echo "install.sh: the running daemon keeps its old config until then: sudo systemctl restart fieldgate" >&2
  fi
fi
echo "install.sh: to let a user run the CLI: sudo usermod -aG fieldgate-cli <user> (then log in again)." \
  "Group fieldgate-cli reaches the control socket only; keep people out of group fieldgate."
