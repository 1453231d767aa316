#!/usr/bin/env bash
# Installs everything the suite needs to build, test and run on Debian 12 (bookworm), 13 (trixie) and
# testing (forky). Idempotent: packages already present are skipped, so repeated runs cost a dpkg query.
set -euo pipefail

# `install-deps.sh build` installs only what building the plugins needs (the Docker image's build stage).
set_name=${1:-all}
packages=(
  build-essential cmake pkg-config ca-certificates
  mosquitto-dev libmosquitto-dev
  nlohmann-json3-dev libsimdjson-dev libre2-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev
)
release=$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")
if [ "$set_name" != build ]; then
  packages+=(
    git mosquitto mosquitto-clients
    googletest libgtest-dev libgmock-dev libbenchmark-dev
    json-schema-test-suite
    influxdb victoria-metrics python3-paho-mqtt
  )
  # scripts/fuzz.sh runs on the Debian 12 host only, with its clang-14 and libFuzzer; the newer releases of
  # the compatibility matrix build and test with GCC alone.
  [ "$release" = bookworm ] && packages+=(clang-14 libclang-rt-14-dev libfuzzer-14-dev)
fi
# Test servers that not every release ships (influxdb left Debian after bookworm): when the release has
# no candidate for one, it is left out with a plain message and the tests that need it report SKIP.
optional=(influxdb victoria-metrics)

unavailable() {  # an optional package the (already fetched) package lists do not offer
  [[ " ${optional[*]} " == *" $1 "* ]] && ! apt-cache show "$1" >/dev/null 2>&1
}
missing=()
for p in "${packages[@]}"; do
  if compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null && unavailable "$p"; then
    echo "install-deps: NOT AVAILABLE on $release: $p (the tests that need it will be skipped)"
    continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all available packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
install=()
for p in "${missing[@]}"; do
  if unavailable "$p"; then
    echo "install-deps: NOT AVAILABLE on $release: $p (the tests that need it will be skipped)"
    continue
  fi
  install+=("$p")
done
[ ${#install[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${install[*]}"
# policy-rc.d keeps Debian's maintainer scripts from starting the packaged servers
# (mosquitto, influxd) on their default ports: tests start their own on free ports.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -q --no-install-recommends "${install[@]}"
