#!/usr/bin/env bash
# Compatibility matrix: builds the suite (without bench/) with warnings as errors and runs its ctest suite inside a
# Debian 13 (trixie, Mosquitto 2.0.21) and a Debian testing (forky, Mosquitto 2.1.2) root, made with
# debootstrap from the apt mirror this machine is configured with, then prints one summary row per release.
#   scripts/compat-matrix.sh [trixie|forky|all]      (default: all; needs root)
# Roots are cached in $MQS_COMPAT_CACHE (default /var/cache/mqs-compat): <suite>.base is the bare
# debootstrap, <suite>.root the base plus scripts/install-deps.sh, rebuilt when that script changes.
# Exits non-zero when any release fails to build or has a failing test.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
cache=${MQS_COMPAT_CACHE:-/var/cache/mqs-compat}
jobs=${MQS_COMPAT_JOBS:-2}

case "${1:-all}" in
  all) suites=(trixie forky) ;;
  trixie | forky) suites=("$1") ;;
  *) echo "usage: $0 [trixie|forky|all]" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "compat-matrix: needs root (debootstrap, chroot, mount)" >&2
  exit 2
fi
# A fresh machine has neither: install them as install-deps.sh installs the rest.
if ! command -v debootstrap >/dev/null || ! command -v curl >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap curl ||
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap curl; }
fi
for tool in debootstrap chroot curl sha256sum; do
  command -v "$tool" >/dev/null || { echo "compat-matrix: $tool not found (apt-get install debootstrap curl)" >&2; exit 2; }
done

# apt_uris, mirror_for, mount_root/unmount_all (EXIT trap), in_root, make_base.
source scripts/lib/debian-root.sh

# <suite>.root: the base, apt pointed at the mirror (a frozen snapshot: no Valid-Until check), then
# scripts/install-deps.sh. Keyed by the hash of install-deps.sh.
make_root() {
  local suite=$1 mirror=$2 root="$cache/$1.root" key
  key=$(sha256sum scripts/install-deps.sh | cut -d' ' -f1)
  [ "$(cat "$root/.mqs-deps-key" 2>/dev/null)" = "$key" ] && return 0
  echo "compat-matrix: $suite: installing dependencies (install-deps.sh changed or first run)"
  rm -rf "$root"
  cp -a "$cache/$suite.base" "$root"
  point_apt_at "$root" "$mirror" "$suite"
  cp scripts/install-deps.sh "$root/root/install-deps.sh"
  mount_root "$root"
  local rc=0
  in_root "$root" 'bash /root/install-deps.sh' >"$cache/$suite.install-deps.log" 2>&1 || rc=$?
  unmount_all
  grep 'NOT AVAILABLE' "$cache/$suite.install-deps.log" >"$root/.mqs-unavailable" || true
  if [ $rc -ne 0 ]; then
    echo "compat-matrix: $suite: install-deps.sh failed, see $cache/$suite.install-deps.log" >&2
    tail -n 20 "$cache/$suite.install-deps.log" >&2
    return 1
  fi
  echo "$key" >"$root/.mqs-deps-key"
}

# A copy of the checkout (tracked and untracked-but-not-ignored files) in /src, a fresh build in /build.
build_and_test() {
  local suite=$1 root="$cache/$1.root" log="$cache/$1"
  rm -rf "$root/src" "$root/build"
  mkdir -p "$root/src"
  git -C "$src" ls-files -z --cached --others --exclude-standard | (cd "$src" && tar --null -T - -cf - 2>/dev/null) |
    tar -C "$root/src" -xf -
  mount_root "$root"
  local build_rc=0 test_rc=0
  echo "compat-matrix: $suite: building (log $log.build.log)"
  # The host's optimisation level (so the same warnings fire) without its debug info, and without bench/
  # (the measuring instrument, run on the host): the build is most of the matrix's time.
  in_root "$root" "cd /src && nice -n 10 cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWARNINGS_AS_ERRORS=ON \
      '-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG' -DWITH_BENCH=OFF \
      && nice -n 10 cmake --build /build -j$jobs -- -k" >"$log.build.log" 2>&1 || build_rc=$?
  echo "compat-matrix: $suite: testing (log $log.ctest.log)"
  # Runs even after a failed build: the targets that did build still show what works on this release.
  in_root "$root" "cd /build && nice -n 10 ctest --output-on-failure --timeout 600 -j$jobs" >"$log.ctest.log" 2>&1 ||
    test_rc=$?
  unmount_all
  local total failed skipped
  total=$(sed -n -E 's/.* tests failed out of ([0-9]+).*/\1/p' "$log.ctest.log" | tail -n1)
  failed=$(sed -n -E 's/.*, ([0-9]+) tests failed out of.*/\1/p' "$log.ctest.log" | tail -n1)
  # "Not Run" without "(Disabled)" is a missing executable: ctest counts it as failed, not skipped.
  skipped=$(grep -c -E '\*\*\*Skipped|Not Run \(Disabled\)' "$log.ctest.log" || true)
  total=${total:-0} failed=${failed:-?}
  local passed='?'
  [[ $failed =~ ^[0-9]+$ ]] && passed=$((total - failed - skipped))
  rows+=("$(printf '%-8s %-10s %-8s %-8s %-9s %6s %6s %7s' "$suite" \
    "$(in_root "$root" "dpkg-query -W -f='\${Version}' mosquitto" | cut -d- -f1)" \
    "$(in_root "$root" 'gcc -dumpfullversion')" \
    "$(in_root "$root" 'cmake --version' | sed -n -E '1s/.* ([0-9.]+).*/\1/p')" \
    "$([ $build_rc -eq 0 ] && echo yes || echo NO)" "$passed" "$failed" "$skipped")")
  while read -r line; do notes+=("$suite: ${line#install-deps: }"); done <"$root/.mqs-unavailable"
  if [ $build_rc -ne 0 ]; then
    notes+=("$suite: BUILD FAILED:")
    while read -r line; do notes+=("    $line"); done < <(grep -E 'error:|undefined reference|Error [0-9]' "$log.build.log" | sort -u | head -n 40)
  fi
  if [ $test_rc -ne 0 ]; then
    notes+=("$suite: TESTS FAILED:")
    while read -r line; do notes+=("    $line"); done < <(sed -n '/The following tests FAILED/,$p' "$log.ctest.log" | grep -E '^[[:space:]]+[0-9]+ - ')
  fi
  while read -r line; do notes+=("$suite: SKIPPED: $line"); done < <(grep -E '\*\*\*Skipped|Not Run \(Disabled\)' "$log.ctest.log" | sed -E 's/^ *//')
  [ $build_rc -eq 0 ] && [ $test_rc -eq 0 ]
}

mkdir -p "$cache"
rows=() notes=() status=0
for suite in "${suites[@]}"; do
  start=$SECONDS
  if ! mirror=$(mirror_for "$suite"); then
    rows+=("$(printf '%-8s %s' "$suite" "NOT RUN: no configured apt mirror serves dists/$suite")")
    status=1
    continue
  fi
  if make_base "$suite" "$mirror" && make_root "$suite" "$mirror"; then
    build_and_test "$suite" || status=1
  else
    rows+=("$(printf '%-8s %s' "$suite" "NOT RUN: could not make the root (see $cache/$suite.*.log)")")
    status=1
  fi
  echo "compat-matrix: $suite: $((SECONDS - start)) s"
done

echo
echo "Compatibility matrix (logs in $cache/<release>.{build,ctest,install-deps}.log)"
printf '%-8s %-10s %-8s %-8s %-9s %6s %6s %7s\n' release mosquitto gcc cmake build-ok passed failed skipped
printf '%s\n' "${rows[@]}"
[ ${#notes[@]} -gt 0 ] && printf '%s\n' "${notes[@]}"
[ $status -eq 0 ] && echo "compat-matrix: all releases pass" || echo "compat-matrix: FAILED"
exit $status
