# bench-data.sh - sourced by the bench-*.sh scripts: builds their shared data
# sets once and reuses them while they have the asked-for shape.
#   bench_data DIR BIG_MIB SMALL_N SMALL_KIB
# DIR/big/big.bin: BIG_MIB MiB of incompressible bytes;
# DIR/small: SMALL_N files of SMALL_KIB KiB, 100 per directory.
# A count of 0 leaves that part out.
bench_data() {
  local dir=$1 big_mib=$2 small_n=$3 small_kib=$4
  mkdir -p "$dir"
  if [ "$big_mib" -gt 0 ] && { [ ! -f "$dir/big/big.bin" ] ||
    [ "$(stat -c %s "$dir/big/big.bin")" != $((big_mib << 20)) ]; }; then
    mkdir -p "$dir/big"
    head -c $((big_mib << 20)) /dev/urandom >"$dir/big/big.bin"
  fi
  if [ "$small_n" -gt 0 ] && { [ ! -d "$dir/small" ] || [ "$(find "$dir/small" -type f | wc -l)" != "$small_n" ]; }; then
    rm -rf "$dir/small"
    python3 - "$dir/small" "$small_n" "$small_kib" <<'PY'
import os, sys
root, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.dat" % i), "wb") as f:
        f.write(os.urandom(kib * 1024))
PY
  fi
  sync
}
