#!/usr/bin/env bash
# Build (or reuse) the vSphere simulator binary for tests and demos.
#
#   tools/vcsim/build.sh          -> prints the binary's absolute path on stdout
#
# The binary is cached as var/bin/vcsim-<12 hex of sha256(main.go + build.sh)>,
# so it is rebuilt only when this directory's sources change; var/bin/vcsim is
# a symlink to the current one. Progress goes to stderr. Go and the govmomi
# source come from Debian packages and are installed with apt-get if missing.
set -euo pipefail

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SRC_DIR/../.." && pwd)"
BIN_DIR="$ROOT/var/bin"
GOPATH_DIR=/usr/share/gocode
GOVMOMI_SIM="$GOPATH_DIR/src/github.com/vmware/govmomi/simulator"

say() { echo "vcsim: $*" >&2; }

hash="$(cat "$SRC_DIR/main.go" "$SRC_DIR/build.sh" | sha256sum | cut -c1-12)"
bin="$BIN_DIR/vcsim-$hash"

if [[ ! -x "$bin" ]]; then
    if ! command -v go >/dev/null 2>&1 || [[ ! -d "$GOVMOMI_SIM" ]]; then
        sudo=""
        if [[ "$(id -u)" -ne 0 ]]; then
            sudo=sudo
        fi
        say "installing Go and the govmomi source (golang-go golang-github-vmware-govmomi-dev) with apt-get..."
        $sudo apt-get update >&2
        $sudo env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y golang-go golang-github-vmware-govmomi-dev >&2
    fi

    say "building vSphere simulator (first build takes ~40 s)..."
    mkdir -p "$BIN_DIR"
    tmp="$(mktemp "$BIN_DIR/.vcsim-build.XXXXXX")"
    trap 'rm -f "$tmp"' EXIT
    start=$SECONDS
    (
        cd "$SRC_DIR"
        # GOPATH mode against Debian's /usr/share/gocode: no module download.
        export GO111MODULE=off GOPATH="$GOPATH_DIR" GOFLAGS=
        export GOCACHE="${GOCACHE:-$ROOT/var/go-cache}"
        go build -trimpath -ldflags "-s -w" -o "$tmp" main.go
    )
    chmod 755 "$tmp"
    mv -f "$tmp" "$bin" # atomic: concurrent builds just replace each other
    trap - EXIT
    say "built $bin in $((SECONDS - start)) s"
fi

# Point var/bin/vcsim at this build (relative link; swapped atomically).
link_tmp="$BIN_DIR/.vcsim-link.$$"
ln -sfn "vcsim-$hash" "$link_tmp"
mv -Tf "$link_tmp" "$BIN_DIR/vcsim"

echo "$bin"
