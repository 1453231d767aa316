#!/usr/bin/env bash
# Builds the Debian package (cpack), checks its layout, installs it with apt into a fresh Debian 12 root
# (debootstrap from the machine's apt mirror) and starts Debian's broker there with the packaged warehouse
# example: a valid reading must pass, an invalid one be dead-lettered, an alert be raised.
#   scripts/deb-test.sh        (needs root; the bare root is cached in $MQS_COMPAT_CACHE)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${MQS_COMPAT_CACHE:-/var/cache/mqs-compat}
build=${DEB_BUILD_DIR:-build-deb}
source scripts/lib/debian-root.sh
fail() { echo "deb-test: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot, mount)"
# A fresh machine may lack them (dpkg-shlibdeps for cpack's dependencies, debootstrap for the root).
if ! command -v dpkg-shlibdeps >/dev/null || ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dpkg-dev debootstrap curl >/dev/null
fi

echo "deb-test: building the package in $build"
# -O2 as Debian builds its packages.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DWARNINGS_AS_ERRORS=ON -DDEB_PACKAGE=ON -DWITH_TESTS=OFF \
  -DWITH_BENCH=OFF >/tmp/deb-test.configure.log 2>&1 || { tail -n 20 /tmp/deb-test.configure.log; fail "configure"; }
nice cmake --build "$build" -j2 >"$build/build.log" 2>&1 || { grep -E 'error' "$build/build.log" | head; fail "build"; }
rm -f "$build"/*.deb
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || { tail -n 20 "$build/cpack.log"; fail "cpack"; }
deb=$(ls "$build"/*.deb)
echo "deb-test: $(basename "$deb")"

# Layout: plugins next to Debian's dynamic-security plugin, examples and docs under /usr/share/doc, and
# nothing that activates itself (no /etc at all).
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
for plugin in validate alerts influx dynacl; do
  grep -qx "./usr/lib/$arch/mosquitto_$plugin.so" <<<"$listing" || fail "mosquitto_$plugin.so not in /usr/lib/$arch"
done
grep -qx './usr/share/doc/mosquitto-plugin-suite/examples/mosquitto-warehouse.conf' <<<"$listing" || fail "no examples"
grep -qx './usr/share/doc/mosquitto-plugin-suite/docs/validate.md' <<<"$listing" || fail "no docs"
! grep -q '^\./etc/' <<<"$listing" || fail "the package installs files under /etc"
dpkg-deb -f "$deb" Depends | grep -q 'mosquitto (>= 2.0.11)' || fail "Depends lacks mosquitto"

mirror=$(mirror_for bookworm) || fail "no configured apt mirror serves dists/bookworm"
mkdir -p "$cache"
make_base bookworm "$mirror"
root="$cache/bookworm.debtest"
rm -rf "$root"
cp -a "$cache/bookworm.base" "$root"
point_apt_at "$root" "$mirror" bookworm
# Package scripts must not start services in the chroot (it shares the host's network).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
cp "$deb" "$root/root/"
mount_root "$root"
echo "deb-test: installing into a Debian 12 root (log $cache/bookworm.debtest.log)"
in_root "$root" "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    /root/$(basename "$deb") mosquitto-clients" >"$cache/bookworm.debtest.log" 2>&1 ||
  { tail -n 20 "$cache/bookworm.debtest.log"; fail "apt-get install of the package"; }
in_root "$root" "ls /etc/mosquitto/conf.d" | grep -q '\.conf$' && fail "the package activated a configuration"

# Debian's own mosquitto.conf with the packaged warehouse example in conf.d, on a free port.
port=$((20000 + RANDOM % 20000))
sed "s/^listener 1883$/listener $port 127.0.0.1/" \
  "$root/usr/share/doc/mosquitto-plugin-suite/examples/mosquitto-warehouse.conf" >"$root/etc/mosquitto/conf.d/warehouse.conf"
mkdir -p "$root/run/mosquitto" && in_root "$root" "chown mosquitto: /run/mosquitto"
stop_broker() { kill "$(cat "$root/run/mosquitto/mosquitto.pid" 2>/dev/null)" 2>/dev/null || true; }
trap 'stop_broker; unmount_all' EXIT
in_root "$root" "mosquitto -c /etc/mosquitto/mosquitto.conf -d" || fail "the broker did not start"
for _ in $(seq 50); do
  in_root "$root" "mosquitto_pub -h 127.0.0.1 -p $port -t probe -m x" 2>/dev/null && break
  sleep 0.2
done
in_root "$root" "mosquitto_sub -h 127.0.0.1 -p $port -v -t 'entrepot/#' -W 4 >/tmp/received" &
sub=$!
sleep 1
valid='{"timestamp":1732200000,"temp":23.1,"hum":44.0,"alert_level":0,"version":1}'
invalid='{"timestamp":1732200000,"temp":"hot","hum":44.0,"alert_level":0,"version":1}'
critical='{"timestamp":1732200001,"temp":23.1,"hum":44.0,"alert_level":2,"version":1}'
in_root "$root" "mosquitto_pub -h 127.0.0.1 -p $port -q 1 -t entrepot/nord/s1/v1 -m '$valid' &&
  mosquitto_pub -h 127.0.0.1 -p $port -q 1 -t entrepot/nord/s2/v1 -m '$invalid' &&
  mosquitto_pub -h 127.0.0.1 -p $port -q 1 -t entrepot/sud/s3/v1 -m '$critical'" || fail "publishing to the broker"
wait $sub || true
received=$(cat "$root/tmp/received" 2>/dev/null || true)
log=$(cat "$root/var/log/mosquitto/mosquitto.log" 2>/dev/null || true)
stop_broker
unmount_all
echo "$received" | sed 's/^/deb-test: received: /'
grep -q "^entrepot/nord/s1/v1 $valid\$" <<<"$received" || { echo "$log" | tail -n 30; fail "the valid reading was not delivered"; }
grep -q '^entrepot/deadletter/nord/s2 ' <<<"$received" || { echo "$log" | tail -n 30; fail "the invalid reading was not dead-lettered"; }
grep -q '^entrepot/nord/s2/v1 ' <<<"$received" && fail "the invalid reading was delivered"
grep -q '^entrepot/alerts/' <<<"$received" || { echo "$log" | tail -n 30; fail "no alert for alert_level 2"; }
echo "deb-test: passed (package installed by apt on Debian 12, broker started with the packaged example)"
