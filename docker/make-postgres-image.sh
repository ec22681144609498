#!/usr/bin/env bash
# Makes a local stand-in for postgres:15-bookworm where that image cannot be pulled (no registry
# access): docker/postgres/Dockerfile, Debian bookworm's postgresql-15 on a bookworm base (by default
# node:20-bookworm-slim, or the stand-in docker/make-base-image.sh makes of it, so the layers are
# shared). Needs that base present and Debian's mirror reachable (apt-get in the build).
#   docker/make-postgres-image.sh [podman|docker] [image name] [base image]
# Then: MLP_POSTGRES_IMAGE=<image name> for docker/compose.yaml.
set -euo pipefail
cd "$(dirname "$0")"

engine=${1:-podman}
name=${2:-localhost/mlp-postgres:15}
base=${3:-docker.io/library/node:20-bookworm-slim}
[ "$engine" = docker ] && [ "$base" = docker.io/library/node:20-bookworm-slim ] && base=node:20-bookworm-slim

args=(build -f postgres/Dockerfile -t "$name" --build-arg "BASE=$base")
# podman: never pull the base (a stand-in has the official name), host network to reach the mirror.
[ "$engine" = podman ] && args+=(--pull=never --format docker --network=host)
echo "make-postgres-image: $engine build $name from $base (apt-get install postgresql-15)"
"$engine" "${args[@]}" postgres
echo "make-postgres-image: $name made"
