#!/usr/bin/env bash
# Tern set-up: Debian packages for building, running and testing Tern, and the upstream
# sources of lwIP, musl, libsodium, Lua, BusyBox and the Open POSIX Test Suite taken from
# Debian's source packages.
#
# This file is a library: ./tern and tools/lint.sh source it. Run directly, it performs
# the set-up, exactly like `./tern setup`.
#
# The sources are fetched through a private apt configuration kept in the cache, so the
# machine's own apt configuration is read but never changed. The deb-src entries are
# derived at run time from the machine's deb entries; no archive host name is ever written
# into the tree, because the tree must build against whatever mirror the machine uses.
#
# Environment:
#   TERN_CACHE    cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/tern); unpacked
#                 sources go to $TERN_CACHE/src, the private apt state to $TERN_CACHE/apt.
#   TERN_APT_ETC  apt configuration directory to read (default /etc/apt); only tests of
#                 this script need to change it.

# Debian packages the build, the QEMU runs, the debugger and the linter need. clang-format,
# clang-tidy, shellcheck and git are here because `./tern lint` uses them; libc6-dev gives
# the static C library the Linux benchmark programs link (bench/linux).
TERN_PACKAGES=(
    clang lld llvm cmake ninja-build
    qemu-system-x86 grub-pc-bin grub-common xorriso mtools
    catch2 python3 gdb dpkg-dev make libsodium-dev libc6-dev
    clang-format clang-tidy shellcheck git
)

# The Linux kernel `./tern bench` runs beside Tern: Debian's linux-image-amd64 of the
# machine's release (it depends on exactly one versioned image package), unpacked into
# $TERN_CACHE/linux. Only vmlinuz, its config and the modules the benchmark VMs load are
# kept: the NIC drivers (virtio-net and e1000 are modules in Debian's build) and what
# they depend on, in load order.
TERN_LINUX_META=linux-image-amd64
TERN_LINUX_MODULES=(
    drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
    drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci net/core/failover
    drivers/net/net_failover drivers/net/virtio_net
    drivers/net/ethernet/intel/e1000/e1000
)

# Source packages as name:upstream-version. The version is pinned so that every machine
# builds the same lwIP, musl, libsodium, Lua, BusyBox and Open POSIX Test Suite; Debian 12
# ships exactly these.
TERN_SOURCE_PACKAGES=(
    lwip:2.1.3
    musl:1.2.3
    libsodium:1.0.18
    lua5.4:5.4.4
    busybox:1.35.0
    posixtestsuite:1.5.2
)

tern_log() { printf 'tern: %s\n' "$*"; }
tern_die() {
    printf 'tern: error: %s\n' "$*" >&2
    exit 1
}

tern_cache_dir() { printf '%s\n' "${TERN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tern}"; }

# Where the upstream tree of a source package is unpacked: $TERN_CACHE/src/<name>-<version>.
tern_source_dir() { printf '%s/src/%s-%s\n' "$(tern_cache_dir)" "$1" "$2"; }

# The unpacked tree of a package listed in TERN_SOURCE_PACKAGES, at its pinned version.
tern_pinned_source_dir() {
    local entry
    for entry in "${TERN_SOURCE_PACKAGES[@]}"; do
        if [[ ${entry%%:*} == "$1" ]]; then
            tern_source_dir "$1" "${entry#*:}"
            return 0
        fi
    done
    tern_die "$1 is not one of the source packages: ${TERN_SOURCE_PACKAGES[*]}"
}

# Prints the Debian packages from TERN_PACKAGES that are not installed, one per line.
tern_missing_packages() {
    local installed
    # dpkg-query exits 1 when a package is unknown to dpkg; that package is then simply
    # absent from the output and reported as missing below.
    installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${TERN_PACKAGES[@]}" \
        2>/dev/null || true)
    local pkg
    for pkg in "${TERN_PACKAGES[@]}"; do
        if ! grep -qx "ii  $pkg" <<<"$installed"; then
            printf '%s\n' "$pkg"
        fi
    done
}

# Prints the entries of TERN_SOURCE_PACKAGES whose tree is not completely unpacked. The
# stamp file is written last, so its presence means the tree is whole.
tern_missing_sources() {
    local entry
    for entry in "${TERN_SOURCE_PACKAGES[@]}"; do
        if [[ ! -f "$(tern_source_dir "${entry%%:*}" "${entry#*:}")/.tern-source" ]]; then
            printf '%s\n' "$entry"
        fi
    done
}

# Where the Linux kernel for the benchmarks is unpacked; .tern-linux is written last.
tern_linux_dir() { printf '%s/linux\n' "$(tern_cache_dir)"; }

tern_linux_complete() { [[ -f "$(tern_linux_dir)/.tern-linux" ]]; }

# Succeeds when nothing is missing. It is cheap enough to run before every build.
tern_setup_complete() {
    [[ -z "$(tern_missing_packages)" && -z "$(tern_missing_sources)" ]] && tern_linux_complete
}

# Lists the apt entries configured on this machine, one line per (type, URI, suite):
#   format <TAB> type <TAB> uri <TAB> suite <TAB> components <TAB> extra
# format is "list" (one-line style) or "sources" (deb822). extra holds the one-line
# options without brackets, or the other deb822 fields (Signed-By, ...) verbatim with
# lines joined by the ASCII record separator (\036), so multi-line fields such as an
# embedded key survive. Disabled deb822 paragraphs (Enabled: no) are left out.
tern_apt_entries() {
    local etc=${TERN_APT_ETC:-/etc/apt}
    local -a files=()
    if [[ -f $etc/sources.list ]]; then files+=("$etc/sources.list"); fi
    local f
    for f in "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
        if [[ -f $f ]]; then files+=("$f"); fi
    done
    ((${#files[@]})) || return 0
    awk '
        function emit_line(   n, tok, i, type, opts, uri, suite, comps) {
            n = split(line_text, tok, /[ \t]+/)
            i = 1
            if (tok[i] == "") i++
            type = tok[i++]
            if (type != "deb" && type != "deb-src") return
            opts = ""
            if (substr(tok[i], 1, 1) == "[") {
                # Options run up to the token that closes the bracket.
                while (i <= n) {
                    opts = opts (opts == "" ? "" : " ") tok[i]
                    if (tok[i++] ~ /\]$/) break
                }
                gsub(/^\[[ \t]*|[ \t]*\]$/, "", opts)
            }
            uri = tok[i++]; suite = tok[i++]
            comps = ""
            for (; i <= n; i++) if (tok[i] != "") comps = comps (comps == "" ? "" : " ") tok[i]
            if (uri == "" || suite == "") return
            print "list\t" type "\t" uri "\t" suite "\t" comps "\t" opts
        }
        function flush_paragraph(   nt, nu, ns, t, u, s, types, uris, suites) {
            if (have_fields && tolower(field["enabled"]) != "no") {
                nt = split(field["types"], types, /[ \t]+/)
                nu = split(field["uris"], uris, /[ \t]+/)
                ns = split(field["suites"], suites, /[ \t]+/)
                for (t = 1; t <= nt; t++) for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++) {
                    if (types[t] == "" || uris[u] == "" || suites[s] == "") continue
                    print "sources\t" types[t] "\t" uris[u] "\t" suites[s] "\t" \
                        field["components"] "\t" extra
                }
            }
            split("", field); extra = ""; have_fields = 0; last_key = ""
        }
        FNR == 1 {
            if (deb822) flush_paragraph()
            deb822 = (FILENAME ~ /\.sources$/)
        }
        !deb822 {
            line_text = $0
            sub(/#.*/, "", line_text)
            if (line_text ~ /[^ \t]/) emit_line()
            next
        }
        /^#/ { next }
        /^[ \t]*$/ { flush_paragraph(); next }
        /^[ \t]/ {
            # A continuation line belongs to the previous field.
            if (last_key == "other") extra = extra "\036" $0
            else if (last_key != "") field[last_key] = field[last_key] " " $0
            next
        }
        {
            key = tolower(substr($0, 1, index($0, ":") - 1))
            value = substr($0, index($0, ":") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", value)
            have_fields = 1
            if (key == "types" || key == "uris" || key == "suites" || key == "components" \
                || key == "enabled") {
                field[key] = value; last_key = key
            } else {
                extra = extra (extra == "" ? "" : "\036") $0; last_key = "other"
            }
        }
        END { if (deb822) flush_paragraph() }
    ' "${files[@]}"
}

# The machine's release codename (bookworm on Debian 12).
tern_release_codename() {
    local codename=""
    if [[ -r /etc/os-release ]]; then
        codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
    fi
    [[ -n $codename ]] || tern_die "cannot tell the Debian release: /etc/os-release has no VERSION_CODENAME"
    printf '%s\n' "$codename"
}

# The Debian archive entries of the main release: type deb, suite equal to the release
# codename (so not -security or -updates), component main. Third-party repositories use
# their own suite names (or lack main) and fall out. Each URI is kept once.
tern_debian_release_entries() {
    local codename
    codename=$(tern_release_codename)
    tern_apt_entries | awk -F '\t' -v codename="$codename" '
        $2 == "deb" && $4 == codename && (" " $5 " ") ~ / main / && !seen[$3]++
    '
}

# Prints the host name of every archive URI in the machine's apt entries, one per line. When a
# caching proxy is configured (http://proxy:3142/<archive-host>/debian), the archive host in
# the path is printed too.
tern_registry_hosts() {
    tern_apt_entries | cut -f3 | awk '
        {
            uri = $0
            if (uri !~ /:\/\//) next
            sub(/^[^:]*:\/\//, "", uri)
            host = uri; sub(/\/.*/, "", host); sub(/^.*@/, "", host); sub(/:[0-9]*$/, "", host)
            # Only dotted names are registry hosts; a bare proxy name such as "cache"
            # would match ordinary words.
            if (host ~ /[A-Za-z]/ && host ~ /\./) print tolower(host)
            path = uri; sub(/^[^\/]*\/?/, "", path); sub(/\/.*/, "", path)
            if (path ~ /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/) print tolower(path)
        }
    ' | sort -u
}

# Writes the private apt configuration: the deb-src twins of the release entries, in the
# same format as their originals so options and Signed-By keep working.
tern_write_private_apt_config() {
    local apt_dir=$1
    local entries
    entries=$(tern_debian_release_entries)
    [[ -n $entries ]] || tern_die "no Debian '$(tern_release_codename)' entry with component main in ${TERN_APT_ETC:-/etc/apt}/sources.list{,.d/*}; cannot derive a deb-src entry"
    mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    local list="" deb822="" format _type uri suite _comps extra
    while IFS=$'\t' read -r format _type uri suite _comps extra; do
        if [[ $format == list ]]; then
            list+="deb-src ${extra:+[$extra] }$uri $suite main"$'\n'
        else
            deb822+="Types: deb-src"$'\n'"URIs: $uri"$'\n'"Suites: $suite"$'\n'"Components: main"$'\n'
            if [[ -n $extra ]]; then deb822+="$(tr '\036' '\n' <<<"$extra")"$'\n'; fi
            deb822+=$'\n'
        fi
    done <<<"$entries"
    printf '%s' "$list" >"$apt_dir/sources.list"
    rm -f "$apt_dir/sources.list.d/"*
    [[ -z $deb822 ]] || printf '%s' "$deb822" >"$apt_dir/sources.list.d/tern.sources"
}

# apt options that point apt at the private configuration and state in the cache.
tern_private_apt_options() {
    local apt_dir=$1
    local -a opts=(
        -o "Dir::Etc::SourceList=$apt_dir/sources.list"
        -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir/cache"
        -o "Acquire::Languages=none"
        -q
    )
    # apt drops to the _apt user to download, but the cache usually lives in root's home,
    # which _apt cannot enter; apt would then fall back to root with a warning. The files
    # are checked against the signed index either way.
    if ((EUID == 0)); then
        opts+=(-o "APT::Sandbox::User=root")
    fi
    printf '%s\n' "${opts[@]}"
}

# Picks the newest version of a source package whose upstream part is the pinned version
# (2.1.3 matches 2.1.3-1 and 2.1.3+dfsg1-2, not 2.1.30).
tern_pick_source_version() {
    local name=$1 upstream=$2
    shift 2
    local versions best="" v up
    versions=$(apt-cache "$@" showsrc --only-source "$name" 2>/dev/null |
        awk '/^Version:/ { print $2 }')
    for v in $versions; do
        up=${v#*:}
        up=${up%-*}
        if [[ $up == "$upstream" || $up == "$upstream"+* || $up == "$upstream"~* ]]; then
            if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best"; then
                best=$v
            fi
        fi
    done
    [[ -n $best ]] || tern_die "source package $name $upstream not found in the derived deb-src entries (versions seen: ${versions:-none})"
    printf '%s\n' "$best"
}

# Fetches one source package's files into the download directory (apt checks every file
# against the hashes of the signed index), checks the orig tarball once more against the
# .dsc, and unpacks the upstream tree into the cache.
tern_fetch_source() {
    local name=$1 upstream=$2 cache=$3
    shift 3
    local -a apt_opts=("$@")
    local download_dir=$cache/downloads
    mkdir -p "$download_dir" "$cache/src"

    local version
    version=$(tern_pick_source_version "$name" "$upstream" "${apt_opts[@]}")
    tern_log "fetching source package $name $version"
    (cd "$download_dir" && apt-get "${apt_opts[@]}" source --download-only --only-source \
        "$name=$version") || tern_die "apt-get source $name=$version failed"

    local no_epoch=${version#*:}
    local dsc=$download_dir/${name}_${no_epoch}.dsc
    [[ -f $dsc ]] || tern_die "apt-get source left no $dsc"
    # The upstream tarball is <name>_<upstream>.orig.tar.<ext>; component tarballs
    # (.orig-<component>.tar.*) are not part of the upstream tree Tern builds.
    local sha _size file
    read -r sha _size file < <(awk '
        /^Checksums-Sha256:/ { in_sha = 1; next }
        in_sha && /^[ \t]/ { if ($3 ~ /\.orig\.tar\.[a-z0-9]+$/) { print $1, $2, $3; exit } next }
        { in_sha = 0 }
    ' "$dsc") || true
    [[ -n ${file:-} && -f $download_dir/$file ]] || tern_die "no orig tarball listed in $dsc"
    (cd "$download_dir" && printf '%s  %s\n' "$sha" "$file" | sha256sum --quiet -c -) ||
        tern_die "$file does not match the SHA-256 in $dsc"

    local dest tmp
    dest=$(tern_source_dir "$name" "$upstream")
    tmp=$(mktemp -d "$cache/src/.unpack-$name-XXXXXX")
    tar -xf "$download_dir/$file" -C "$tmp" || {
        rm -rf "$tmp"
        tern_die "cannot unpack $file"
    }
    # Upstream tarballs normally hold one top directory; its name varies (lwip-2.1.3,
    # musl-1.2.3), so the tree is renamed to the predictable <name>-<version>.
    local -a top=("$tmp"/* "$tmp"/.[!.]*)
    local tree=$tmp
    local existing=()
    local t
    for t in "${top[@]}"; do
        if [[ -e $t ]]; then existing+=("$t"); fi
    done
    if ((${#existing[@]} == 1)) && [[ -d ${existing[0]} ]]; then
        tree=${existing[0]}
    fi
    printf 'package=%s\nversion=%s\norig=%s\nsha256=%s\n' "$name" "$version" "$file" "$sha" \
        >"$tree/.tern-source"
    rm -rf "$dest"
    if [[ $tree == "$tmp" ]]; then
        mv "$tmp" "$dest"
    else
        mv "$tree" "$dest"
        rm -rf "$tmp"
    fi
    tern_log "unpacked $file into $dest"
}

# Runs a command as root: directly when already root, through sudo otherwise.
tern_as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        tern_die "need root to run: $* (sudo is not installed)"
    fi
}

tern_install_packages() {
    local -a missing=("$@")
    tern_log "installing Debian packages: ${missing[*]}"
    # Without fresh package lists (a new container, say) apt knows none of them; refresh
    # the system lists only in that case, because it is slow.
    local pkg needs_update=0
    for pkg in "${missing[@]}"; do
        if ! apt-cache show --no-all-versions "$pkg" >/dev/null 2>&1; then
            needs_update=1
            break
        fi
    done
    if ((needs_update)); then
        tern_log "refreshing the system's apt package lists"
        tern_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    fi
    tern_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Downloads the kernel image package that linux-image-amd64 names for this release with
# the machine's own apt configuration (apt checks the file against the signed index) and
# keeps vmlinuz, its config and the modules in TERN_LINUX_MODULES.
tern_fetch_linux() {
    local cache=$1
    local image
    image=$(apt-cache show --no-all-versions "$TERN_LINUX_META" 2>/dev/null |
        awk -F': ' '/^Depends:/ { n = split($2, d, /, */); for (i = 1; i <= n; i++)
            if (d[i] ~ /^linux-image-[0-9]/) { split(d[i], w, / /); print w[1]; exit } }')
    [[ -n $image ]] || tern_die "apt knows no $TERN_LINUX_META depending on a linux-image-<version> package"
    local download_dir=$cache/downloads
    mkdir -p "$download_dir"
    tern_log "fetching the Linux kernel package $image (for ./tern bench)"
    local -a opts=(-q)
    if ((EUID == 0)); then opts+=(-o "APT::Sandbox::User=root"); fi
    (cd "$download_dir" && apt-get "${opts[@]}" download "$image") ||
        tern_die "apt-get download $image failed"
    local deb
    deb=$(find "$download_dir" -maxdepth 1 -name "${image}_*_amd64.deb" -printf '%T@ %p\n' |
        sort -n | tail -n 1 | cut -d' ' -f2-)
    [[ -n $deb && -f $deb ]] || tern_die "apt-get download left no ${image}_*.deb in $download_dir"
    local tmp dest
    dest=$(tern_linux_dir)
    tmp=$(mktemp -d "$cache/.unpack-linux-XXXXXX")
    dpkg-deb -x "$deb" "$tmp/root" || {
        rm -rf "$tmp"
        tern_die "cannot unpack $deb"
    }
    local release
    release=$(find "$tmp/root/boot" -name 'vmlinuz-*' -printf '%f\n' | head -n 1)
    release=${release#vmlinuz-}
    [[ -n $release ]] || tern_die "$deb holds no /boot/vmlinuz-*"
    mkdir -p "$tmp/out/modules"
    cp "$tmp/root/boot/vmlinuz-$release" "$tmp/out/vmlinuz"
    cp "$tmp/root/boot/config-$release" "$tmp/out/config"
    local module ko
    for module in "${TERN_LINUX_MODULES[@]}"; do
        ko=$tmp/root/lib/modules/$release/kernel/$module.ko
        [[ -f $ko ]] || tern_die "$deb has no module $module.ko (is it built in now? then drop it from TERN_LINUX_MODULES)"
        cp "$ko" "$tmp/out/modules/"
    done
    printf 'package=%s\nrelease=%s\ndeb=%s\nsha256=%s\n' "$image" "$release" \
        "$(basename "$deb")" "$(sha256sum "$deb" | cut -d' ' -f1)" >"$tmp/out/.tern-linux"
    rm -rf "$dest"
    mv "$tmp/out" "$dest"
    rm -rf "$tmp"
    tern_log "Linux $release unpacked into $dest"
}

tern_setup() {
    local -a missing_packages missing_sources
    local entry
    mapfile -t missing_packages < <(tern_missing_packages)
    mapfile -t missing_sources < <(tern_missing_sources)
    local cache
    cache=$(tern_cache_dir)

    if ((${#missing_packages[@]} == 0 && ${#missing_sources[@]} == 0)) && tern_linux_complete; then
        local names=()
        for entry in "${TERN_SOURCE_PACKAGES[@]}"; do names+=("${entry%%:*} ${entry#*:}"); done
        tern_log "set-up complete: ${#TERN_PACKAGES[@]} Debian packages installed;" \
            "$(printf '%s, ' "${names[@]}" | sed 's/, $//') unpacked in $cache/src;" \
            "Linux $(sed -n 's/^release=//p' "$(tern_linux_dir)/.tern-linux") in $(tern_linux_dir)"
        return 0
    fi

    if ((${#missing_packages[@]})); then
        tern_install_packages "${missing_packages[@]}"
    fi

    if ((${#missing_sources[@]})); then
        local apt_dir=$cache/apt
        tern_log "deriving deb-src entries from the machine's apt sources into $apt_dir"
        tern_write_private_apt_config "$apt_dir"
        local -a apt_opts
        mapfile -t apt_opts < <(tern_private_apt_options "$apt_dir")
        tern_log "updating the private source index"
        apt-get "${apt_opts[@]}" update || tern_die "apt-get update of the private source index failed"
        for entry in "${missing_sources[@]}"; do
            tern_fetch_source "${entry%%:*}" "${entry#*:}" "$cache" "${apt_opts[@]}"
        done
    fi

    if ! tern_linux_complete; then
        tern_fetch_linux "$cache"
    fi

    tern_setup_complete || tern_die "set-up finished but something is still missing: $(tern_missing_packages) $(tern_missing_sources)"
    tern_log "set-up done"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    tern_setup "$@"
fi
