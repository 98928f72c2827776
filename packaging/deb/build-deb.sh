#!/usr/bin/env bash
# Builds the Debian package from a release tree (called by systemd/package.sh):
#   build-deb.sh <release tree> <arm64|x64> <version> <output dir>
# Layout: code in /usr/lib/fieldgate, /usr/bin/fieldgate, the unit in /lib/systemd/system, the users in
# /usr/lib/sysusers.d, the state directory in /usr/lib/tmpfiles.d, a minimal config in /etc/fieldgate (a conffile).
# Compressed with gzip (FIELDGATE_DEB_COMPRESSION=xz: ~20 % smaller, minutes slower on a small machine).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree=$1 arch=$2 version=$3 out=$4
case "$arch" in
  arm64) debarch=arm64 ;;
  x64) debarch=amd64 ;;
  *) echo "build-deb.sh: unknown architecture $arch" >&2; exit 2 ;;
esac
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

install -d -m 0755 "$root/usr/lib" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/share/doc/fieldgate" \
  "$root/usr/share/fieldgate" "$root/DEBIAN"
cp -a "$tree" "$root/usr/lib/fieldgate"
# Debian policy: no world-writable files, directories 0755, files 0644 unless executable.
chmod -R u+rwX,go+rX,go-w "$root/usr/lib/fieldgate"
# node-gyp (for systemd/build-ble.sh) runs its gyp scripts with python3 itself; unmarked, they need no
# dependency on python3, which only a Bluetooth build needs.
find "$root/usr/lib/fieldgate/node_modules" -name '*.py' -type f -exec chmod a-x {} +
install -m 0755 "$here/fieldgate.sh" "$root/usr/bin/fieldgate"
# The unit starts the daemon through the wrapper, which finds Node (NodeSource in /usr/bin, official binaries in
# /usr/local/bin) and execs it: the daemon keeps the service's main PID.
sed 's#^ExecStart=/usr/bin/node /usr/lib/fieldgate/dist/src/main.js #ExecStart=/usr/bin/fieldgate #' \
  "$tree/systemd/fieldgate.service" > "$root/lib/systemd/system/fieldgate.service"
grep -q '^ExecStart=/usr/bin/fieldgate ' "$root/lib/systemd/system/fieldgate.service" ||
  { echo "build-deb.sh: the unit's ExecStart no longer reads /usr/bin/node /usr/lib/fieldgate/…; update the sed" >&2; exit 1; }
chmod 0644 "$root/lib/systemd/system/fieldgate.service"
install -D -m 0644 "$tree/systemd/fieldgate.sysusers" "$root/usr/lib/sysusers.d/fieldgate.conf"
install -D -m 0644 "$here/fieldgate.tmpfiles" "$root/usr/lib/tmpfiles.d/fieldgate.conf"
install -D -m 0644 "$here/fieldgate.yaml" "$root/etc/fieldgate/fieldgate.yaml"
install -m 0644 "$tree/config/fieldgate.schema.json" "$root/usr/share/fieldgate/fieldgate.schema.json"
install -m 0644 "$here/copyright" "$root/usr/share/doc/fieldgate/copyright"
sed "s/@VERSION@/$version/" "$here/changelog" | gzip -9n -c > "$root/usr/share/doc/fieldgate/changelog.gz"
chmod 0644 "$root/usr/share/doc/fieldgate/changelog.gz"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$debarch/" -e "s/@SIZE@/$size/" "$here/control" > "$root/DEBIAN/control"
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
for script in preinst postinst prerm postrm; do install -m 0755 "$here/$script" "$root/DEBIAN/$script"; done
mkdir -p "$out"
deb="$out/fieldgate_${version}_${debarch}.deb"
dpkg-deb --root-owner-group -Z"${FIELDGATE_DEB_COMPRESSION:-gzip}" --build "$root" "$deb" >&2
echo "$deb"
