#!/usr/bin/env bash
# Install the system packages nestlab needs on Debian/Ubuntu, only those missing:
#   python3-venv (virtual environments), redis-server (used when no Redis is
#   reachable), golang-go + golang-github-vmware-govmomi-dev (to build the
#   vSphere simulator), git (git libraries), curl (the download benchmark compares with it).
set -euo pipefail

say() { echo "==> $*" >&2; }

missing=()
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v redis-server >/dev/null 2>&1 || [[ -x /usr/bin/redis-server ]] || missing+=(redis-server)
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[[ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ]] || missing+=(golang-github-vmware-govmomi-dev)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v curl >/dev/null 2>&1 || missing+=(curl)

if [[ ${#missing[@]} -eq 0 ]]; then
    say "system packages: all present"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "missing system packages: ${missing[*]} (install them with your package manager)"
    exit 1
fi
sudo=""
[[ "$(id -u)" -eq 0 ]] || sudo=sudo
say "installing system packages: ${missing[*]} (apt-get)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
say "system packages installed"
