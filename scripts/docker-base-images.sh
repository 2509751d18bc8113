#!/usr/bin/env bash
# Makes the Dockerfile's base images (debian:bookworm, debian:bookworm-slim)
# from Debian packages with debootstrap, without a registry: a minbase
# bookworm tree imported with `docker import`. Images already present are kept
# (so a pulled official image is used as is). Needs root (debootstrap) and a
# running Docker daemon. Mirror: $DEBIAN_MIRROR (default deb.debian.org).
#   scripts/docker-base-images.sh            # make missing bases
#   scripts/docker-base-images.sh --force    # remake both
set -euo pipefail

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
TAGS=(debian:bookworm debian:bookworm-slim)

force=0
[ "${1:-}" = --force ] && force=1

missing=()
for tag in "${TAGS[@]}"; do
  if [ "$force" = 1 ] || ! docker image inspect "$tag" >/dev/null 2>&1; then
    missing+=("$tag")
  fi
done
[ "${#missing[@]}" -eq 0 ] && { echo "docker-base-images: ${TAGS[*]} present"; exit 0; }

command -v debootstrap >/dev/null || { echo "docker-base-images: debootstrap is not installed (scripts/install-deps.sh)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "docker-base-images: debootstrap needs root" >&2; exit 1; }

root=$(mktemp -d /tmp/modelbay-bookworm.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "==> debootstrap --variant=minbase bookworm ($MIRROR) for ${missing[*]}"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 \
  || { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# The same sources as the official image (updates and security too), so the
# build stage's apt-get sees the packages the host has.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# No caches or logs in the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/*

image=$(tar -C "$root" --numeric-owner -c . | docker import --change 'CMD ["bash"]' - "${missing[0]}")
for tag in "${missing[@]:1}"; do docker tag "$image" "$tag"; done
echo "==> imported ${missing[*]} ($image)"
