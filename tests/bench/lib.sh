# Shared set-up of the benchmark scripts (sourced, not run): messages, argument checks,
# locating the ingot binary and the gen_taxi generator, the work directory.
#
#   BENCH=bench_x; . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_check_size "$SIZE"; bench_resolve_build_dir; bench_find_ingot; bench_workdir
#   GEN=$(bench_find_gen)
# Needs BENCH, BUILD_DIR and WORK set; sets SCRIPT_DIR, REPO_DIR, INGOT, WORK.

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)

die() { echo "$BENCH: $*" >&2; exit 1; }
note() { echo "$BENCH: $*" >&2; }

bench_check_size() {
    [[ $1 =~ ^[0-9]+([kKmMgGtT](i?[bB])?|[bB])?$ ]] || die "bad SIZE '$1' (e.g. 256M, 1G, 4G)"
}

# `VAR=value bench_check_count VAR` style: dies unless the named variable is a count >= MIN (default 1).
bench_check_count() {
    local name=$1 min=${2:-1}
    [[ ${!name} =~ ^[0-9]+$ ]] && (( ${!name} >= min )) || die "bad $name '${!name}'"
}

# BUILD_DIR relative to the current directory, else to the repository root.
bench_resolve_build_dir() {
    if [[ ! -d $BUILD_DIR && $BUILD_DIR != /* && -d $REPO_DIR/$BUILD_DIR ]]; then
        BUILD_DIR=$REPO_DIR/$BUILD_DIR
    fi
}

bench_need() {  # command, how to get it
    command -v "$1" >/dev/null 2>&1 || die "$1 not found; install it with: $2"
}

bench_find_ingot() {
    INGOT=${INGOT:-$BUILD_DIR/ingot}
    [[ -x $INGOT ]] || die "ingot binary not found at '$INGOT'; build it first:
    cmake -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2"
    INGOT=$(cd "$(dirname "$INGOT")" && pwd)/$(basename "$INGOT")
}

bench_workdir() {
    mkdir -p "$WORK"
    WORK=$(cd "$WORK" && pwd)
}

# The generator: $GEN_TAXI, else the one CMake built, else compiled into $WORK (it
# needs only the standard library).
bench_find_gen() {
    local c
    if [[ -n ${GEN_TAXI:-} ]]; then
        [[ -x $GEN_TAXI ]] || die "GEN_TAXI='$GEN_TAXI' is not executable"
        echo "$GEN_TAXI"; return
    fi
    for c in "$BUILD_DIR/tests/bench/gen_taxi" "$BUILD_DIR/bin/gen_taxi" "$BUILD_DIR/gen_taxi"; do
        if [[ -x $c ]]; then echo "$c"; return; fi
    done
    c=$WORK/gen_taxi
    if [[ ! -x $c || $SCRIPT_DIR/gen_taxi.cpp -nt $c ]]; then
        note "compiling gen_taxi into $c"
        "${CXX:-c++}" -std=c++20 -O2 -o "$c" "$SCRIPT_DIR/gen_taxi.cpp" ||
            die "could not compile gen_taxi; build target ingot-gen-taxi instead"
    fi
    echo "$c"
}

# bench_gen FILE FORMAT SIZE [GEN_ARGS...]: gen_taxi's FORMAT (ndjson, csv) of SIZE into
# FILE, made once: FILE.stamp holds the generator's version, the arguments and SEED, and
# the file is made again when they differ. Needs GEN (bench_find_gen) and SEED.
bench_gen() {
    local file=$1 format=$2 size=$3 want
    shift 3
    want="$("$GEN" --version) $size $SEED $format $*"
    [[ -f $file && $(cat "$file.stamp" 2>/dev/null) == "$want" ]] && return
    note "generating $size of $format into $file"
    "$GEN" --size "$size" --seed "$SEED" --format "$format" "$@" -o "$file.tmp"
    mv -- "$file.tmp" "$file"
    echo "$want" >"$file.stamp"
}
