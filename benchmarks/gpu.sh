#!/usr/bin/env bash
# The CUDA check of benchmarks/gpu.py as one command of at most ~8 minutes on one GPU.
#
#   bash benchmarks/gpu.sh [OUT]                       # on the GPU machine (OUT: $OUT or gpu-results)
#   bash benchmarks/gpu.sh OUT --device cpu --smoke    # here, shrunk, on CPU
#
# Before a GPU run, here: `bash benchmarks/gpu_wheels.sh` (trl, datasets and what they need,
# into .whl/) and `python benchmarks/gpu.py prepare` (the datasets, into .gpudata/); carry
# both. Each part runs in its own process under its own time limit and appends to
# OUT/results.jsonl as it measures, so a part that fails or is cut short loses only itself.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-gpu-results}}
shift || true
device=cuda smoke=""
while [ $# -gt 0 ]; do
    case "$1" in
        --device) device=$2; shift 2 ;;
        --smoke) smoke=--smoke; shift ;;
        *) echo "unknown argument $1 (use: OUT [--device cpu|cuda] [--smoke])" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TRANSFORMERS_OFFLINE=1 HF_DATASETS_DISABLE_PROGRESS_BARS=1
py=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && [ "$device" = cpu ] && py=.venv/bin/python
# the wheels are for the GPU machine (Python 3.12); a CPU run uses the local environment
if [ "$device" = cuda ] && [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/eemo-site .whl/*.whl || { echo "installing .whl/ failed" >&2; exit 1; }
    export PYTHONPATH=/tmp/eemo-site:$PWD${PYTHONPATH:+:$PYTHONPATH}
else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
data=.gpudata
if [ -n "$smoke" ]; then
    data=.gpudata-smoke  # shrunk datasets, built here on first use
    [ -d "$data/real" ] || "$py" benchmarks/gpu.py prepare --smoke --data "$data" || exit 1
fi
status=0
# the limits bound a GPU session; a CPU smoke run (CI, a shared machine) gets three times each
scale=1
[ -n "$smoke" ] && scale=3
part() {  # part NAME LIMIT_S
    local limit=$(( $2 * scale ))
    echo "=== $1 (limit $limit s) $(date -u +%T)"
    timeout --foreground --kill-after=10 "$limit" "$py" benchmarks/gpu.py "$1" --out "$out" --data "$data" \
        --device "$device" $smoke 2>&1 | tee -a "$out/gpu.log"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -ne 0 ] && { echo "=== $1 failed (exit $rc)" | tee -a "$out/gpu.log"; status=1; }
}
part env 45
part pipeline 90
part real-grpo 200
part real-sft 75
echo "=== pytest -m gpu $(date -u +%T)"
timeout --foreground --kill-after=10 $(( 60 * scale )) "$py" -m pytest -m gpu tests/test_gpu.py -q -p no:cacheprovider \
    -o addopts="" 2>&1 | tee "$out/pytest.log"
rc=${PIPESTATUS[0]}
# exit 5: nothing collected (no CUDA: the gpu tests skip, which is rc 0); anything else fails
[ "$rc" -ne 0 ] && { echo "=== pytest -m gpu failed (exit $rc)"; status=1; }
"$py" benchmarks/gpu.py summary --out "$out" || status=1
exit $status
