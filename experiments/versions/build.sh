#!/bin/bash
# Fetches Debian source packages of two versions of some servers and builds them with
# -g -O2 -fno-lto into a cache folder outside the repository (default
# /var/cache/tandem-versions, or $TANDEM_VERSIONS_DIR). Idempotent: a version whose install
# folder has a .done stamp is skipped. Prints where the binaries are and writes versions.json
# there for run.py.
#
#   experiments/versions/build.sh [PAIR|PACKAGE...]     # default: every pair below
#
# The sources come from Debian's archive through apt-get source, with a side configuration
# (its own deb-src list and lists folder) that never touches /etc/apt. When the archive mirror
# serves a version's upstream tarball but not its .dsc/.debian.tar.xz (seen for trixie's redis
# and nginx on this workplace's mirror), that version is built from the Debian orig tarball
# alone, without Debian's patches, and versions.json says so ("debian_patches": false).
set -euo pipefail

ROOT=${TANDEM_VERSIONS_DIR:-/var/cache/tandem-versions}
JOBS=${JOBS:-2}
CFLAGS_ALL="-g -O2 -fno-lto"

# The pairs: NAME PACKAGE OLD-VERSION NEW-VERSION. Override a version with NAME_OLD/NAME_NEW
# (upper case, '-' as '_'), e.g. REDIS_SECURITY_OLD=5:7.0.15-1~deb12u7.
PAIRS=(
    "redis          redis     ${REDIS_OLD:-5:7.0.15-1~deb12u10} ${REDIS_NEW:-5:8.0.2-3+deb13u3}"
    "redis-security redis     ${REDIS_SECURITY_OLD:-5:7.0.15-1~deb12u7} ${REDIS_SECURITY_NEW:-5:7.0.15-1~deb12u10}"
    "memcached      memcached ${MEMCACHED_OLD:-1.6.18-1+deb12u1} ${MEMCACHED_NEW:-1.6.38-1}"
    "lighttpd       lighttpd  ${LIGHTTPD_OLD:-1.4.69-1} ${LIGHTTPD_NEW:-1.4.79-2}"
    "nginx          nginx     ${NGINX_OLD:-1.22.1-9+deb12u9} ${NGINX_NEW:-1.26.3-3+deb13u12}"
)
# Single versions the tests use, built only when named (not pairs: the mirror does not serve
# bookworm's vsftpd 3.0.3 source): NAME PACKAGE VERSION. vsftpd 3.0.5 (trixie) runs with its
# own seccomp sandbox on this glibc; bookworm's 3.0.3 sandbox refuses glibc 2.36's newfstatat.
SINGLES=(
    "vsftpd         vsftpd    ${VSFTPD:-3.0.5-0.2}"
)
# Suites of those versions: redis 7.0.15-1~deb12u7 bookworm, ~deb12u10 bookworm-security,
# 8.0.2-3+deb13u3 trixie; memcached 1.6.18-1+deb12u1 bookworm, 1.6.38-1 trixie; lighttpd 1.4.69-1
# bookworm, 1.4.79-2 trixie; nginx 1.22.1-9+deb12u9 bookworm, 1.26.3-3+deb13u12 trixie-security.

WANT=("$@")

log() { printf '[build.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---------------------------------------------------------------- apt side configuration
APT=$ROOT/apt
APT_OPTS=(-o "Dir::Etc::sourcelist=$APT/sources.sources" -o "Dir::Etc::sourceparts=$APT/parts"
          -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache")
setup_apt() {
    mkdir -p "$APT/lists/partial" "$APT/parts" "$APT/cache/archives/partial"
    cat > "$APT/sources.sources.new" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    mv "$APT/sources.sources.new" "$APT/sources.sources"
    # Refresh the deb-src lists at most once a day.
    if [ -z "$(find "$APT/lists" -maxdepth 1 -name '*Sources*' -mmin -1440 -print -quit)" ]; then
        log "apt-get update (deb-src lists for bookworm, trixie and their security suites)"
        apt-get "${APT_OPTS[@]}" update -qq
    fi
}

# Build tools and -dev packages; installed only when missing.
ensure_deps() {
    local need=() p
    for p in build-essential dpkg-dev cmake ninja-build pkg-config libevent-dev libpcre2-dev libjemalloc-dev \
             zlib1g-dev libssl-dev libpam0g-dev libcap-dev libwrap0-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
    done
    if [ ${#need[@]} -gt 0 ]; then
        log "installing missing build dependencies: ${need[*]}"
        apt-get install -y -qq --no-install-recommends "${need[@]}" >"$ROOT/apt-install.log" 2>&1 \
            || { tail -20 "$ROOT/apt-install.log" >&2; exit 1; }
    fi
}

# ---------------------------------------------------------------- fetching
# dirname for a Debian version: no epoch, '~' and '+' kept readable.
vdir() { local v=${1#*:}; echo "${v//\~/_}"; }
upstream() { local v=${1#*:}; echo "${v%-*}"; }

# fetch PKG VERSION -> prints the extracted source folder; sets PATCHED=true|false
fetch() {
    local pkg=$1 ver=$2 d
    d=$ROOT/src/$pkg-$(vdir "$ver")
    mkdir -p "$ROOT/src/dl"
    if [ -f "$d/.extracted" ]; then
        PATCHED=$(cat "$d/.extracted"); echo "$d"; return
    fi
    rm -rf "$d"
    local dsc="$ROOT/src/dl/${pkg}_${ver#*:}.dsc"
    if (cd "$ROOT/src/dl" && apt-get "${APT_OPTS[@]}" source -qq --download-only "$pkg=$ver" >&2 2>"$ROOT/src/dl/$pkg-$ver.log") \
        && [ -f "$dsc" ]; then
        log "extracting $pkg $ver with dpkg-source (Debian patches applied)"
        dpkg-source --no-check -x "$dsc" "$d" >/dev/null
        PATCHED=true
    else
        log "$pkg $ver: the mirror does not serve the .dsc/.debian.tar.xz; building Debian's orig tarball alone"
        (cd "$ROOT/src/dl" && apt-get "${APT_OPTS[@]}" source -qq --download-only --tar-only "$pkg=$ver" >&2) || true
        local orig
        orig=$(ls "$ROOT/src/dl/${pkg}_$(upstream "$ver").orig.tar."* 2>/dev/null | grep -v '\.asc$' | head -1)
        [ -n "$orig" ] || { log "ERROR: cannot fetch $pkg $ver (set ${pkg^^}_OLD/_NEW to a version apt-cache showsrc lists)"; exit 1; }
        mkdir -p "$d"
        tar xf "$orig" -C "$d" --strip-components=1
        PATCHED=false
    fi
    echo "$PATCHED" > "$d/.extracted"
    echo "$d"
}

# ---------------------------------------------------------------- builders
# Each builds SRC into $ROOT/build/NAME and installs into PREFIX; prints the main binary.
build_redis() {
    local src=$1 b=$2 prefix=$3
    rm -rf "$b"; cp -a "$src" "$b"    # redis's Makefiles build in their tree: build in a copy
    # Debian's patch 0004 makes the sources call jemalloc's unprefixed API whenever it is
    # applied (its #if compares two undefined macros): link the system jemalloc as Debian does.
    # An orig tarball (no Debian patches) builds its bundled jemalloc.
    local sysjem=no
    [ -f "$b/debian/patches/0004-Add-support-for-USE_SYSTEM_JEMALLOC-flag.patch" ] && sysjem=yes
    make -C "$b" -j"$JOBS" V=1 OPTIMIZATION="$CFLAGS_ALL" DEBUG="" BUILD_TLS=no \
        MALLOC=jemalloc USE_SYSTEM_JEMALLOC=$sysjem >"$b.log" 2>&1
    mkdir -p "$prefix/bin"
    cp "$b/src/redis-server" "$b/src/redis-cli" "$b/src/redis-benchmark" "$prefix/bin/"
}
build_memcached() {
    local src=$1 b=$2 prefix=$3
    rm -rf "$b"; mkdir -p "$b"
    (cd "$b" && "$src/configure" --prefix="$prefix" CFLAGS="$CFLAGS_ALL" --disable-docs \
        >"$b.log" 2>&1 && make -j"$JOBS" >>"$b.log" 2>&1 && make install >>"$b.log" 2>&1)
}
build_lighttpd() {
    local src=$1 b=$2 prefix=$3
    rm -rf "$b"
    cmake -S "$src" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$CFLAGS_ALL" \
        -DCMAKE_INSTALL_PREFIX="$prefix" -DWITH_PCRE2=ON -DWITH_ZLIB=ON >"$b.log" 2>&1
    cmake --build "$b" -j"$JOBS" >>"$b.log" 2>&1
    cmake --install "$b" >>"$b.log" 2>&1
}
build_nginx() {
    local src=$1 b=$2 prefix=$3
    rm -rf "$b"; cp -a "$src" "$b"    # nginx's configure writes its Makefile in the tree
    (cd "$b" && ./configure --prefix="$prefix" --with-cc-opt="$CFLAGS_ALL" \
        --conf-path="$prefix/conf/nginx.conf" --error-log-path=stderr \
        --http-log-path="$prefix/logs/access.log" --pid-path="$prefix/logs/nginx.pid" \
        --with-threads --without-http_geo_module --without-http_ssi_module \
        >"$b.log" 2>&1 && make -j"$JOBS" >>"$b.log" 2>&1 && make install >>"$b.log" 2>&1)
}
build_vsftpd() {
    local src=$1 b=$2 prefix=$3
    rm -rf "$b"; cp -a "$src" "$b"    # a plain Makefile that builds in its tree
    # Debian's LINK strips the binary (-Wl,-s): keep the debug info.
    make -C "$b" -j"$JOBS" CFLAGS="$CFLAGS_ALL -fPIE -fstack-protector-strong -Wall" \
        LINK="-pie" LIBS="-lwrap -lpam -lcap -lcrypt -lssl -lcrypto" >"$b.log" 2>&1
    mkdir -p "$prefix/sbin"
    cp "$b/vsftpd" "$prefix/sbin/"
}
main_binary() {
    case $1 in
        redis) echo "$2/bin/redis-server" ;;
        memcached) echo "$2/bin/memcached" ;;
        lighttpd) echo "$2/sbin/lighttpd" ;;
        nginx) echo "$2/sbin/nginx" ;;
        vsftpd) echo "$2/sbin/vsftpd" ;;
    esac
}

# build_one PKG VERSION ROLE -> a JSON object on stdout
build_one() {
    local pkg=$1 ver=$2 role=$3 name prefix src t0 secs
    name=$pkg-$(vdir "$ver")
    prefix=$ROOT/inst/$name
    if [ ! -f "$prefix/.done" ]; then
        src=$(fetch "$pkg" "$ver") || exit 1
        log "building $pkg $ver ($role) -> $prefix"
        t0=$(date +%s)
        rm -rf "$prefix"; mkdir -p "$ROOT/build"
        if ! "build_$pkg" "$src" "$ROOT/build/$name" "$prefix"; then
            log "ERROR: build of $pkg $ver failed; last lines of $ROOT/build/$name.log:"
            tail -20 "$ROOT/build/$name.log" >&2
            exit 1
        fi
        secs=$(( $(date +%s) - t0 ))
        local patched; patched=$(cat "$src/.extracted")
        printf '{"package": "%s", "version": "%s", "role": "%s", "debian_patches": %s, "build_seconds": %d, "cflags": "%s", "prefix": "%s", "binary": "%s"}\n' \
            "$pkg" "$ver" "$role" "$patched" "$secs" "$CFLAGS_ALL" "$prefix" \
            "$(main_binary "$pkg" "$prefix")" > "$prefix/.done.new"
        mv "$prefix/.done.new" "$prefix/.done"
        log "built $pkg $ver in ${secs}s"
    else
        log "$pkg $ver already built ($prefix)"
    fi
    cat "$prefix/.done"
}

setup_apt
ensure_deps
mkdir -p "$ROOT/src" "$ROOT/build" "$ROOT/inst"
entries=()
for line in "${PAIRS[@]}"; do
    read -r name pkg oldv newv <<<"$line"
    if [ ${#WANT[@]} -gt 0 ] && ! printf '%s\n' "${WANT[@]}" | grep -qx -e "$name" -e "$pkg"; then
        continue
    fi
    old=$(build_one "$pkg" "$oldv" old) || exit 1
    new=$(build_one "$pkg" "$newv" new) || exit 1
    entries+=("{\"package\": \"$name\", \"source\": \"$pkg\", \"old\": $old, \"new\": $new}")
done
singles=0
for line in "${SINGLES[@]}"; do
    read -r name pkg ver <<<"$line"
    printf '%s\n' "${WANT[@]}" | grep -qx -e "$name" || continue
    build_one "$pkg" "$ver" single | python3 -c 'import json,sys; print(json.load(sys.stdin)["binary"])'
    singles=$((singles + 1))
done
[ ${#entries[@]} -gt 0 ] || [ $singles -gt 0 ] || { log "no pair named ${WANT[*]}"; exit 2; }
[ ${#entries[@]} -gt 0 ] || exit 0
# versions.json: every pair built so far (merged with pairs from earlier runs).
python3 - "$ROOT/versions.json" "${entries[@]}" <<'EOF'
import json, os, sys
path, new = sys.argv[1], [json.loads(e) for e in sys.argv[2:]]
pairs = {}
if os.path.exists(path):
    pairs = {p["package"]: p for p in json.load(open(path))}
for p in new:
    pairs[p["package"]] = p
json.dump(sorted(pairs.values(), key=lambda p: p["package"]), open(path + ".new", "w"), indent=1)
os.replace(path + ".new", path)
for p in sorted(pairs.values(), key=lambda p: p["package"]):
    for role in ("old", "new"):
        v = p[role]
        print(f'{p["package"]:10} {role}  {v["version"]:22} {v["binary"]}'
              f'{"" if v["debian_patches"] else "   (orig tarball, no Debian patches)"}')
print(f"pairs: {path}")
EOF
