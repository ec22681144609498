#!/usr/bin/env bash
# Makes a local stand-in for node:20-bookworm-slim where that image cannot be pulled (no registry access):
# a minimal Debian bookworm (debootstrap, from Debian's mirror) plus this machine's own node, npm and
# Node headers, and a `node` user (uid 1000) as in the official image. Needs root and debootstrap.
#   docker/make-base-image.sh [podman|docker] [image name]
# The headers go to /usr/local/include/node and npm_config_nodedir=/usr/local is set in the image, so
# node-gyp (better-sqlite3's fallback when no prebuilt binary can be downloaded) finds them offline.
set -euo pipefail

engine=${1:-podman}
name=${2:-docker.io/library/node:20-bookworm-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

die() { echo "make-base-image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap)"
command -v debootstrap >/dev/null || die "needs debootstrap (apt-get install debootstrap)"
command -v node >/dev/null || die "needs node on this machine: its binary goes into the image"

node_bin=$(readlink -f "$(command -v node)")
prefix=$(dirname "$(dirname "$node_bin")")          # /usr for Debian/NodeSource, /usr/local for nodejs.org
major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
[ "$major" = 20 ] || die "this machine's node is $("$node_bin" -v); $name must hold Node 20"
[ -f "$prefix/include/node/node.h" ] || die "no Node headers in $prefix/include/node"
[ -f "$prefix/lib/node_modules/npm/bin/npm-cli.js" ] || die "no npm in $prefix/lib/node_modules/npm"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/make-base-image.XXXXXX")
root=$tmp/rootfs
cleanup() {
  # debootstrap mounts /proc and /sys in the new root; an interrupted run can leave them mounted.
  local m
  for m in $(grep -o " $root/[^ ]*" /proc/mounts 2>/dev/null | sort -r); do umount -l "$m" || true; done
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "make-base-image: debootstrap --variant=minbase bookworm from $mirror"
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
  tail -n 30 "$tmp/debootstrap.log" >&2
  die "debootstrap failed"
fi
# What the official slim image leaves out too: package caches, lists, docs.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
       "$root"/usr/share/doc/* "$root"/usr/share/man/*

mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/include"
cp "$node_bin" "$root/usr/local/bin/node"
cp -a "$prefix/lib/node_modules/npm" "$root/usr/local/lib/node_modules/npm"
cp -a "$prefix/include/node" "$root/usr/local/include/node"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
env -u NODE_EXTRA_CA_CERTS chroot "$root" /usr/local/bin/node -e 'process.exit(0)' \
  || die "the copied node does not run in the new root"

echo "make-base-image: importing as $name"
tar -C "$root" -c . | "$engine" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV npm_config_nodedir=/usr/local' \
  --change 'CMD ["node"]' \
  - "$name" >"$tmp/import.log" 2>&1 || { cat "$tmp/import.log" >&2; die "$engine import failed"; }
echo "make-base-image: $name made from bookworm minbase + node $("$node_bin" -v)"
