#!/usr/bin/env bash
# Download the wheels the GPU machine lacks into .whl/ (gitignored) and check that what a
# device call carries (the working tree, .whl/, .gpudata/) stays under its 64 MiB limit.
#
#   bash benchmarks/gpu_wheels.sh               # trl, datasets and their missing needs
#   bash benchmarks/gpu_wheels.sh --measure-polars   # also report what polars would add
#
# The machine (Python 3.12, x86-64, no network) has torch, transformers, accelerate,
# pyarrow, pandas, fsspec, huggingface-hub, xxhash, tokenizers and safetensors, but not trl,
# datasets, dill, multiprocess or polars. peft is brought too, so that the run uses the
# version the CPU checks used. polars is not needed there: `benchmarks/gpu.py prepare` builds
# the datasets here, and nothing on the GPU run's path imports it.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=(trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 peft==0.21.2)
LIMIT=$((64 * 1024 * 1024))
py=${PYTHON:-python3}
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
           --platform manylinux1_x86_64)
fetch() {  # fetch DIR SPEC...
    local dir=$1; shift
    "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${platforms[@]}" -d "$dir" "$@" 2>&1 | grep -v '^WARNING' || true
}
rm -rf .whl && mkdir -p .whl
fetch .whl "${WHEELS[@]}"
for spec in "${WHEELS[@]}"; do
    name=${spec%%==*}
    ls .whl/"${name//-/_}"-*.whl >/dev/null 2>&1 || { echo "missing wheel for $spec" >&2; exit 1; }
done
size() { du -sb "$@" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
wheels=$(size .whl)
data=$(size .gpudata)
# tracked files plus untracked ones git does not ignore: what travels besides the carried paths
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null \
       | awk '/\ttotal$/ {s += $1} END {print s + 0}')
total=$((wheels + data + tree))
mib() { awk -v b="$1" 'BEGIN {printf "%.2f MiB", b / 1048576}'; }
echo "wheels (.whl/):      $(mib "$wheels")"
ls -l .whl | awk 'NR > 1 {printf "  %-70s %8.2f MiB\n", $9, $5 / 1048576}'
echo "datasets (.gpudata/): $(mib "$data")"
echo "working tree:        $(mib "$tree")"
echo "total carried:       $(mib "$total") of 64 MiB"
if [ "${1:-}" = "--measure-polars" ]; then
    tmp=$(mktemp -d)
    fetch "$tmp" polars==2.1.0 polars-runtime-32==2.1.0
    extra=$(size "$tmp")
    echo "polars would add:    $(mib "$extra") -> $(mib $((total + extra))) in all"
    rm -rf "$tmp"
fi
if [ "$total" -gt "$LIMIT" ]; then
    echo "over the 64 MiB a device call carries" >&2
    exit 1
fi
