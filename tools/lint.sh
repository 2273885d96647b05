#!/usr/bin/env bash
# Tern's lint: the checks every change must pass before it is committed.
#
#   tools/lint.sh          formatting, registry host names, shellcheck, file sizes,
#                          commit subject lengths
#   tools/lint.sh --tidy   also clang-tidy over the host build's compile_commands.json (slow)
#   tools/lint.sh --fix    reformat the offending files instead of only reporting them
#
# Files checked are those git tracks plus new files git would track (not ignored), so a
# problem is caught before the commit that would add it.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=tools/setup.sh
source tools/setup.sh

readonly kMaxFileBytes=$((1024 * 1024))
build_dir=${TERN_BUILD_DIR:-build}
run_tidy=0
fix=0
for arg in "$@"; do
    case $arg in
    --tidy) run_tidy=1 ;;
    --fix) fix=1 ;;
    -h | --help)
        sed -n '2,9s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *) tern_die "lint: unknown option $arg (try --help)" ;;
    esac
done

failures=0
fail() {
    printf 'lint: FAIL: %s\n' "$*" >&2
    failures=$((failures + 1))
}
pass() { printf 'lint: ok: %s\n' "$*"; }

command -v git >/dev/null 2>&1 || tern_die "lint needs git (./tern setup installs it)"
mapfile -d '' -t all_files < <(git ls-files -z --cached --others --exclude-standard)
files=()
for f in "${all_files[@]}"; do
    # A file deleted in the work tree but still in the index has nothing left to check.
    if [[ -f $f && ! -L $f ]]; then files+=("$f"); fi
done

# 1. Formatting: every C/C++ file must be exactly what clang-format makes of it.
sources=()
for f in "${files[@]}"; do
    case $f in
    *.c | *.cc | *.cpp | *.h | *.hpp) sources+=("$f") ;;
    esac
done
if ! command -v clang-format >/dev/null 2>&1; then
    fail "clang-format is not installed (./tern setup installs it)"
elif ((${#sources[@]})); then
    if ((fix)); then
        printf '%s\0' "${sources[@]}" | xargs -0 clang-format -i
    fi
    # shellcheck disable=SC2016 # The inner script expands $f itself.
    mapfile -t unformatted < <(printf '%s\0' "${sources[@]}" |
        xargs -0 -n 16 -P "$(nproc)" sh -c \
            'for f; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done' sh |
        sort)
    if ((${#unformatted[@]})); then
        fail "${#unformatted[@]} file(s) differ from .clang-format; fix with tools/lint.sh --fix or clang-format -i:"
        printf '    %s\n' "${unformatted[@]}" >&2
    else
        pass "${#sources[@]} C/C++ files formatted"
    fi
else
    pass "no C/C++ files to format"
fi

# 2. No package-registry host names. The names are read from this machine's apt sources,
# with the same parsing the set-up uses, so this script names no host either.
mapfile -t hosts < <(tern_registry_hosts)
if ((${#hosts[@]} == 0)); then
    pass "no registry host names in the apt sources to look for"
elif ((${#files[@]})); then
    mapfile -t hits < <(printf '%s\0' "${files[@]}" |
        xargs -0 grep -I -n -i -F -H "${hosts[@]/#/-e}" -- 2>/dev/null || true)
    if ((${#hits[@]})); then
        fail "registry host names (from the apt sources) appear in the tree; derive them at run time instead:"
        printf '    %s\n' "${hits[@]}" >&2
    else
        pass "no registry host names (${#hosts[@]} checked)"
    fi
fi

# 3. Shell scripts: shellcheck catches quoting and set -e mistakes before they bite.
scripts=()
for f in "${files[@]}"; do
    case $f in
    *.sh) scripts+=("$f") ;;
    *.*) ;;
    *)
        # Extension-less executables such as ./tern and .ci/run are scripts when their
        # first line names a shell.
        if [[ -x $f ]] && head -n 1 -- "$f" | grep -qE '^#!.*\b(ba)?sh\b'; then
            scripts+=("$f")
        fi
        ;;
    esac
done
if ((${#scripts[@]} == 0)); then
    pass "no shell scripts to check"
elif ! command -v shellcheck >/dev/null 2>&1; then
    fail "shellcheck is not installed (./tern setup installs it)"
elif shellcheck -x "${scripts[@]}" >&2; then
    pass "${#scripts[@]} shell scripts pass shellcheck"
else
    fail "shellcheck found problems in the shell scripts (see above)"
fi

# 4. No large files: generated images, tarballs and downloaded sources stay out of git.
big=()
for f in "${files[@]}"; do
    size=$(stat -c %s -- "$f")
    if ((size > kMaxFileBytes)); then big+=("$f ($size bytes)"); fi
done
if ((${#big[@]})); then
    fail "files over 1 MiB would be tracked:"
    printf '    %s\n' "${big[@]}" >&2
else
    pass "no file over 1 MiB"
fi

# 5. Commit subjects: at most 72 characters, `Area: what changed`, the detail in the body.
# Checked from the commit after kSubjectRuleSince (history before it is left as it is);
# a shallow clone without that commit checks HEAD alone.
readonly kMaxSubject=72
readonly kSubjectRuleSince=eae22db
# Commits that landed over the limit before the check covered merged branches; history
# is not rewritten for them.
readonly kSubjectGrandfathered=(d5383a3)
if git rev-parse -q --verify "$kSubjectRuleSince^{commit}" >/dev/null 2>&1; then
    range=("$kSubjectRuleSince..HEAD")
else
    range=(-1 HEAD)
fi
long=()
while IFS=' ' read -r sha subject; do
    for old in "${kSubjectGrandfathered[@]}"; do [[ $sha == "$old"* ]] && continue 2; done
    if ((${#subject} > kMaxSubject)); then long+=("${#subject}: $subject"); fi
done < <(git log --no-merges --format='%H %s' "${range[@]}")
if ((${#long[@]})); then
    fail "commit subjects over $kMaxSubject characters (put the detail in the body):"
    printf '    %s\n' "${long[@]}" >&2
else
    pass "commit subjects within $kMaxSubject characters"
fi

# 6. clang-tidy, on request: it compiles every file again, which takes minutes.
if ((run_tidy)); then
    db=$build_dir/compile_commands.json
    if ! command -v clang-tidy >/dev/null 2>&1; then
        fail "clang-tidy is not installed (./tern setup installs it)"
    elif [[ ! -f $db ]]; then
        fail "--tidy needs $db; run ./tern build first"
    else
        root=$PWD
        # Only the tree's own sources; the build directory's generated files are not ours.
        mapfile -t tidy_files < <(python3 - "$db" "$root" "$(readlink -f "$build_dir")" <<'EOF'
import json, os, sys
db, root, build = sys.argv[1], sys.argv[2], sys.argv[3]
seen = set()
for entry in json.load(open(db)):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    if path.startswith(root + "/") and not path.startswith(build + "/") and path not in seen:
        seen.add(path)
        print(path)
EOF
        )
        if ((${#tidy_files[@]} == 0)); then
            fail "$db lists none of the tree's sources"
        else
            # clang-tidy counts the warnings it suppressed in system headers on stderr;
            # only the findings are worth reading.
            if printf '%s\0' "${tidy_files[@]}" |
                xargs -0 -n 1 -P "$(nproc)" clang-tidy -p "$build_dir" --quiet \
                    --warnings-as-errors='*' \
                    --header-filter="^$root/(abi|base|kernel|libc|servers|drivers|boot|tests|tools)/" \
                    2> >(grep -v 'warnings\? generated\.$' >&2); then
                pass "clang-tidy clean on ${#tidy_files[@]} files"
            else
                fail "clang-tidy found problems (see above)"
            fi
        fi
    fi
fi

if ((failures)); then
    printf 'lint: %d check(s) failed\n' "$failures" >&2
    exit 1
fi
printf 'lint: all checks passed\n'
