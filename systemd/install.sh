#!/usr/bin/env bash
# Installs a fieldgate release on a Debian-family system (Raspberry Pi OS 64-bit and others) with systemd and
# Node >= 20.19. Run as root from an unpacked release (see `npm run package`):
#   sudo ./systemd/install.sh [--ble] [--prefix DIR] [--dry-run]   install or upgrade
#   sudo ./systemd/install.sh --rollback [--prefix DIR]             go back to the version before the last upgrade
#   sudo ./systemd/install.sh --uninstall [--purge] [--prefix DIR]  remove (--purge: config and state too)
# --prefix DIR (default /usr): the code goes to DIR/lib/fieldgate, the command to DIR/bin/fieldgate.
# --dry-run prints what would change and changes nothing. Idempotent: re-running upgrades the code, keeps the
# replaced one in DIR/lib/fieldgate.previous, and keeps /etc/fieldgate and /var/lib/fieldgate as they are.
set -euo pipefail

ble=no
prefix=/usr
action=install
dry_run=no
purge=no
while [ $# -gt 0 ]; do
  case "$1" in
    --ble) ble=yes ;;
    --prefix)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
      prefix=$2
      shift ;;
    --prefix=*) prefix=${1#--prefix=} ;;
    --dry-run) dry_run=yes ;;
    --uninstall) action=uninstall ;;
    --purge) purge=yes ;;
    --rollback) action=rollback ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
case "$prefix" in
  /*) prefix=${prefix%/} ;;
  *) echo "install.sh: --prefix must be an absolute path, not $prefix" >&2; exit 2 ;;
esac
[ "$purge" = no ] || [ "$action" = uninstall ] || { echo "install.sh: --purge goes with --uninstall" >&2; exit 2; }
libdir="$prefix/lib/fieldgate"
bindir="$prefix/bin"
unit=/etc/systemd/system/fieldgate.service

from_deb=no
if [ "$prefix" = /usr ] && [ "$(dpkg-query -W -f '${Status}' fieldgate 2>/dev/null || true)" = "install ok installed" ]; then
  from_deb=yes
fi
if [ "$action" = uninstall ] && [ "$from_deb" = yes ]; then
  echo "install.sh: fieldgate was installed from its Debian package: sudo apt remove fieldgate (or purge)" >&2
  exit 1
fi
if [ "$action" = uninstall ]; then
  doomed=("$unit" /etc/systemd/system/fieldgate.service.d "$bindir/fieldgate" "$libdir" "$libdir.previous"
    /usr/lib/sysusers.d/fieldgate.conf /usr/share/fieldgate)
  [ "$purge" = no ] || doomed+=(/etc/fieldgate /var/lib/fieldgate)
  if [ "$dry_run" = yes ]; then
    echo "install.sh: would stop and disable fieldgate.service and remove: ${doomed[*]}"
    [ "$purge" = yes ] || echo "install.sh: would keep /etc/fieldgate and /var/lib/fieldgate (add --purge to remove them)"
    exit 0
  fi
  [ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now fieldgate.service 2>/dev/null || true
  fi
  rm -rf "${doomed[@]}"
  command -v systemctl >/dev/null 2>&1 && systemctl daemon-reload 2>/dev/null || true
  echo "install.sh: fieldgate removed."
  [ "$purge" = yes ] || echo "install.sh: kept /etc/fieldgate and /var/lib/fieldgate (--uninstall --purge removes them)"
  echo "install.sh: the users and groups fieldgate and fieldgate-cli stay (files elsewhere may belong to them)."
  exit 0
fi

if [ "$action" = rollback ]; then
  [ -d "$libdir.previous" ] || { echo "install.sh: no previous version in $libdir.previous to go back to" >&2; exit 1; }
  if [ "$dry_run" = yes ]; then
    echo "install.sh: would swap $libdir ($(node -p "require('$libdir/package.json').version" 2>/dev/null || echo '?'))" \
      "with $libdir.previous ($(node -p "require('$libdir.previous/package.json').version" 2>/dev/null || echo '?'))" \
      "and restart fieldgate.service if it is running"
    exit 0
  fi
  [ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
  rm -rf "$libdir.rollback"
  mv "$libdir" "$libdir.rollback"
  mv "$libdir.previous" "$libdir"
  # The version rolled back from becomes the previous one: a second --rollback undoes the first.
  mv "$libdir.rollback" "$libdir.previous"
  if command -v systemctl >/dev/null 2>&1; then systemctl try-restart fieldgate.service 2>/dev/null || true; fi
  echo "install.sh: rolled back to $(node -p "require('$libdir/package.json').version" 2>/dev/null || echo "the previous version");" \
    "the newer one is kept in $libdir.previous"
  [ "$from_deb" = no ] || echo "install.sh: dpkg still lists the newer version; installing the previous .deb" \
    "makes that true (sudo apt install --allow-downgrades ./fieldgate_<version>_<arch>.deb)"
  exit 0
fi

[ "$dry_run" = yes ] || [ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
release=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$release/dist/src/main.js" ] || { echo "install.sh: $release has no dist/; install a built release" >&2; exit 1; }

node_bin=$(command -v node || true)
[ -n "$node_bin" ] || { echo "install.sh: Node.js >= 20.19 is required: NodeSource or the official binaries (see the README); Debian 12's nodejs is 18" >&2; exit 1; }
"$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
  { echo "install.sh: Node.js >= 20.19 is required, found $("$node_bin" --version)" >&2; exit 1; }
case "$(uname -m)" in
  armv6l) echo "install.sh: armv6 (Pi 1, Pi Zero) cannot run a current Node.js" >&2; exit 1 ;;
  armv7l) echo "install.sh: warning: 32-bit ARM; prefer 64-bit Raspberry Pi OS" >&2 ;;
esac

if [ "$dry_run" = yes ]; then
  echo "install.sh: would install $(node -p "require('$release/package.json').version") from $release to $libdir" \
    "$([ -d "$libdir" ] && echo "(the installed code kept in $libdir.previous)")"
  echo "install.sh: would write $bindir/fieldgate (runs $node_bin), /usr/lib/sysusers.d/fieldgate.conf," \
    "/usr/share/fieldgate/fieldgate.schema.json and $unit$([ "$ble" = yes ] && echo " with the BLE drop-in")"
  echo "install.sh: would create users and groups fieldgate, fieldgate-cli; then enable fieldgate.service"
  if [ -e /etc/fieldgate/fieldgate.yaml ]; then
    echo "install.sh: would keep /etc/fieldgate/fieldgate.yaml"
  else
    echo "install.sh: would write /etc/fieldgate/fieldgate.yaml"
  fi
  exit 0
fi

# The code: replaced as a whole, never edited in place; the replaced tree is kept for --rollback.
install -d -m 0755 "$libdir" "$bindir"
rm -rf "$libdir.new"
cp -a "$release" "$libdir.new"
rm -rf "$libdir.previous"
mv "$libdir" "$libdir.previous"
mv "$libdir.new" "$libdir"
# A first install has nothing to go back to.
[ -e "$libdir.previous/dist/src/main.js" ] || rm -rf "$libdir.previous"
cat > "$bindir/fieldgate" <<WRAPPER
#!/bin/sh
exec "$node_bin" $libdir/dist/src/main.js "\$@"
WRAPPER
chmod 0755 "$bindir/fieldgate"

# The user and its groups (static, so file ownership survives reinstalls): fieldgate is the service's own
# group (config, secrets, state), fieldgate-cli the CLI users' (the control socket only).
install -D -m 0644 "$libdir/systemd/fieldgate.sysusers" /usr/lib/sysusers.d/fieldgate.conf
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
  install -m 0640 -o root -g fieldgate "$libdir/config/fieldgate.yaml" /etc/fieldgate/fieldgate.yaml
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
install -D -m 0644 "$libdir/config/fieldgate.schema.json" /usr/share/fieldgate/fieldgate.schema.json

# The unit, with ExecStart pointing at the node found above.
sed -e "s#/usr/bin/node /usr/lib/fieldgate/#$node_bin $libdir/#" -e "s#/usr/bin/fieldgate #$bindir/fieldgate #" \
  "$libdir/systemd/fieldgate.service" > "$unit"
if [ "$ble" = yes ]; then
  install -D -m 0644 "$libdir/systemd/fieldgate-ble.conf" /etc/systemd/system/fieldgate.service.d/ble.conf
fi
systemctl daemon-reload
# Start only a config that validates (a bad one would exit 78 at once); an upgrade restarts a running daemon,
# whose code was just replaced.
if "$bindir/fieldgate" config validate /etc/fieldgate/fieldgate.yaml; then
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
