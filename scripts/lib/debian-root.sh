# Debian roots for tests, shared by compat-matrix.sh and deb-test.sh (source it; needs $cache set, root).
# The mirror is read from this machine's apt sources at run time: never write one into the repository.
# Every deb URI of the machine's apt sources, one-line (sources.list, *.list) and deb822 (*.sources).
apt_uris() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         { deb = 0; uris = ""
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^[Tt]ypes:/ && $i ~ /[[:space:]]deb([[:space:]]|$)/) deb = 1
             if ($i ~ /^URIs:/) { sub(/^URIs:[[:space:]]*/, "", $i); uris = $i }
           }
           if (deb) { n = split(uris, u, /[[:space:]]+/); for (j = 1; j <= n; j++) if (u[j] != "") print u[j] } }' "$f"
  done
}

# The first configured URI that serves dists/<suite>/Release (the security archive does not).
mirror_for() {
  local uri
  while read -r uri; do
    uri=${uri%/}
    if curl -fsS -m 20 -o /dev/null "$uri/dists/$1/Release" 2>/dev/null; then
      echo "$uri"
      return 0
    fi
  done < <(apt_uris | awk '!seen[$0]++')
  return 1
}

# Mounts for a chroot; undone (in reverse order) by unmount_all, which the EXIT trap also calls.
mounted=()
mount_root() {
  local root=$1
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
  mount -t sysfs sysfs "$root/sys" && mounted+=("$root/sys")
  mount --bind /dev "$root/dev" && mounted+=("$root/dev")
  mount --make-private "$root/dev"
  mount --bind /dev/pts "$root/dev/pts" && mounted+=("$root/dev/pts")
  mount --make-private "$root/dev/pts"
  mount -t tmpfs -o mode=1777,size=4g tmpfs "$root/tmp" && mounted+=("$root/tmp")
}
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
  done
  mounted=()
}
trap unmount_all EXIT
trap 'exit 130' INT TERM

in_root() {  # in_root <root> <bash command>: a clean environment, Debian's PATH
  chroot "$1" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "$2"
}

# <suite>.base: debootstrap --variant=minbase, once per machine.
make_base() {
  local suite=$1 mirror=$2 base="$cache/$1.base"
  [ -x "$base/bin/bash" ] && return 0
  local script=()
  # bookworm's debootstrap has no forky script; sid's works for testing.
  [ -e "/usr/share/debootstrap/scripts/$suite" ] || script=(/usr/share/debootstrap/scripts/sid)
  echo "debian-root: $suite: debootstrap from $mirror"
  rm -rf "$base.tmp"
  nice -n 10 debootstrap --variant=minbase "$suite" "$base.tmp" "$mirror" "${script[@]}" >"$cache/$suite.debootstrap.log" 2>&1 ||
    { echo "debian-root: $suite: debootstrap failed, see $cache/$suite.debootstrap.log" >&2; return 1; }
  mv "$base.tmp" "$base"
}

# Points a root's apt at the mirror (a frozen snapshot: no Valid-Until check) and the host's resolver.
point_apt_at() {  # point_apt_at <root> <mirror> <suite>
  echo "deb $2 $3 main" >"$1/etc/apt/sources.list"
  rm -f "$1"/etc/apt/sources.list.d/*
  echo 'Acquire::Check-Valid-Until "false";' >"$1/etc/apt/apt.conf.d/99mqs-no-valid-until"
  cp /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
}
