#!/usr/bin/env bash
# Install the Debian packages that provide missing programs.
# Usage: install-debian-packages.sh PROGRAM:PACKAGE [PROGRAM:PACKAGE ...]
# Installs nothing when every program is on PATH; needs root otherwise.
set -euo pipefail

missing=()
for pair in "$@"; do
    program=${pair%%:*}
    package=${pair#*:}
    if ! command -v "$program" >/dev/null 2>&1; then
        case " ${missing[*]-} " in *" $package "*) ;; *) missing+=("$package") ;; esac
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "rnamsm: missing Debian package(s): ${missing[*]}. Install them as root:" >&2
    echo "    sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
fi
echo "rnamsm: installing Debian package(s): ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
