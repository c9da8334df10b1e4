#!/usr/bin/env bash
# tile38-ha deploy suites: builds one local image from files on this machine, without pulling
# anything (no registry serves images here), and imports it into the Docker engine at DOCKER_HOST,
# or, with IMAGE_ARCHIVE=FILE, writes it as a docker-archive tarball (manifest.json, config, one
# layer.tar) that containerd imports (`ctr images import`) for the Kubernetes cluster.
#   [IMAGE_ARCHIVE=FILE] build-local-image.sh KIND TAG
# KIND:
#   tile38        busybox (Debian's busybox-static) + the installed tile38-server, as the Alpine
#                 tile38/tile38 image: busybox sh, nc, wget, tile38-server on PATH
#   tile38-next   the same, plus a marker file: another image ID, for a rolling image change
#   tile38-broken busybox + a tile38-server that exits at once (a broken release)
#   redis         busybox + Debian's redis-server/redis-cli with the libraries ldd names
#   versitygw     busybox + the versitygw binary at /app/versitygw (its image's entrypoint)
#   redis-exporter  busybox + redis_exporter at /redis_exporter (its image's entrypoint)
#   pause         busybox whose entrypoint waits for TERM (the pod sandbox image)
#   node          busybox + the installed node binary with its libraries (the test client pod,
#                 which mounts the project read-only)
#   aws-cli       Debian bookworm (debootstrap minbase) + Debian's awscli and bash (and python3-cffi-backend,
#                 which debootstrap does not find as a virtual package), cached as a
#                 root filesystem tarball in $TILE38_HA_CACHE (default ~/.cache/tile38-ha)
set -euo pipefail
kind=${1:?usage: build-local-image.sh KIND TAG}
tag=${2:?usage: build-local-image.sh KIND TAG}
cache=${TILE38_HA_CACHE:-$HOME/.cache/tile38-ha}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

need() { command -v "$1" >/dev/null 2>&1 || { echo "build-local-image: $1 is not installed ($2)" >&2; exit 3; }; }

# busybox_root: a root with busybox and every applet linked, /usr/bin/env included.
busybox_root() {
  local bb
  bb=$(command -v busybox)
  case "$(ldd "$bb" 2>&1 || true)" in
    *'not a dynamic executable'*) ;;
    *) echo "build-local-image: $bb is not static (apt-get install busybox-static)" >&2; exit 3 ;;
  esac
  mkdir -p "$root/bin" "$root/usr/bin" "$root/usr/local/bin" "$root/tmp" "$root/etc" "$root/data"
  chmod 1777 "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  local applet
  for applet in $("$bb" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  ln -sf /bin/busybox "$root/usr/bin/env"
  # Alpine's busybox has flock (the start script locks its data directory); Debian's busybox-static
  # does not: util-linux's flock, with its libraries, stands in.
  if [ ! -e "$root/bin/flock" ]; then
    cp /usr/bin/flock "$root/usr/bin/flock"
    with_libraries /usr/bin/flock
  fi
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'root:x:0:' > "$root/etc/group"
}

# with_libraries BINARY...: copies the binaries' shared libraries (as ldd names them) and loader.
with_libraries() {
  local bin lib
  for lib in $(for bin in "$@"; do ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'; done | sort -u); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# import ENTRYPOINT_JSON [ROOT_TARBALL]: the root (or the tarball) as image $tag.
import() {
  local layer=$work/layer.tar
  if [ -n "${2:-}" ]; then layer=$2; else tar -C "$root" -cf "$layer" .; fi
  if [ -z "${IMAGE_ARCHIVE:-}" ]; then
    docker import --change "ENV PATH=/usr/local/bin:/usr/bin:/bin" --change "ENTRYPOINT $1" - "$tag" <"$layer" >/dev/null
    return
  fi
  local image=$work/image diff_id
  mkdir -p "$image"
  ln -s "$layer" "$image/layer.tar"
  diff_id=$(sha256sum "$layer" | cut -d' ' -f1)
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin"],"Entrypoint":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}\n' "$1" "$diff_id" >"$image/config.json"
  printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":["layer.tar"]}]\n' "$tag" >"$image/manifest.json"
  tar -C "$image" -chf "$IMAGE_ARCHIVE.tmp" manifest.json config.json layer.tar
  mv -f "$IMAGE_ARCHIVE.tmp" "$IMAGE_ARCHIVE"
}

case "$kind" in
  tile38 | tile38-next)
    server=${TILE38_SERVER:-$(command -v tile38-server || true)}
    [ -x "$server" ] || { echo "build-local-image: no tile38-server (build it from source, see docs/testing.md)" >&2; exit 3; }
    busybox_root
    cp "$server" "$root/usr/local/bin/tile38-server"
    [ "$kind" = tile38 ] || echo "$tag" > "$root/etc/tile38-ha-local-build"
    import '["tile38-server"]'
    ;;
  tile38-broken)
    busybox_root
    printf '#!/bin/sh\necho "tile38-server: this release is broken on purpose" >&2\nexit 1\n' > "$root/usr/local/bin/tile38-server"
    chmod +x "$root/usr/local/bin/tile38-server"
    import '["tile38-server"]'
    ;;
  redis)
    need redis-server "apt-get install redis-server"
    busybox_root
    cp /usr/bin/redis-server /usr/bin/redis-cli "$root/usr/bin/"
    ln -s redis-server "$root/usr/bin/redis-sentinel"
    with_libraries /usr/bin/redis-server /usr/bin/redis-cli
    import '["redis-server"]'
    ;;
  versitygw)
    gw=$(command -v versitygw || true)
    [ -n "$gw" ] || { echo "build-local-image: versitygw is not installed (.ci/run installs it)" >&2; exit 3; }
    busybox_root
    mkdir -p "$root/app"
    cp "$gw" "$root/app/versitygw"
    with_libraries "$gw"
    import '["/app/versitygw"]'
    ;;
  aws-cli)
    tarball=$cache/aws-cli-bookworm-rootfs.tar
    if [ ! -s "$tarball" ]; then
      need debootstrap "apt-get install debootstrap"
      mkdir -p "$cache"
      debootstrap --variant=minbase --include=awscli,bash,python3-cffi-backend bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
        { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
      rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
      tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    fi
    import '["aws"]' "$tarball"
    ;;
  redis-exporter)
    exporter=$(command -v redis_exporter || echo "${GOPATH:-$HOME/go}/bin/redis_exporter")
    [ -x "$exporter" ] || { echo "build-local-image: redis_exporter is not installed (.ci/run builds it)" >&2; exit 3; }
    busybox_root
    cp "$exporter" "$root/redis_exporter"
    with_libraries "$exporter"
    import '["/redis_exporter"]'
    ;;
  pause)
    busybox_root
    printf '#!/bin/sh\ntrap "exit 0" TERM INT\nwhile :; do sleep 3600 & wait $!; done\n' >"$root/pause"
    chmod +x "$root/pause"
    import '["/pause"]'
    ;;
  node)
    busybox_root
    cp "$(command -v node)" "$root/usr/local/bin/node"
    with_libraries "$(command -v node)"
    import '["node"]'
    ;;
  *) echo "build-local-image: unknown kind $kind" >&2; exit 2 ;;
esac
echo "$tag"
