#!/usr/bin/env bash
# Build one Python environment per trainer for tests/trainers/ (the trainers' pins conflict
# with the [train] extra and with each other): .venvs/<trainer>, each with the trainer
# installed --no-deps plus only what its reward path imports (scripts/trainer_envs/*.txt),
# and torch==2.13.0 held by scripts/trainer_envs/constraints.txt (which also holds omegaconf
# below 2.4, where EasyR1's config fails and the trainers' Hydra configs stay). torch is
# installed once, into .venvs/_torch, and shared through a .pth file (the venv's own packages
# come first).
# The trainers are built side by side; each logs to .venvs/<trainer>.log.
#
#   bash scripts/trainer_envs.sh             # all of them
#   bash scripts/trainer_envs.sh verl swift  # some
#
# An environment whose inputs (this script and its requirement files) did not change is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
ROOT=$PWD
REQ=scripts/trainer_envs
PYTHON=${PYTHON:-python3}

declare -A TRAINER=([verl]="verl==0.9.1" [openrlhf]="openrlhf==0.11.2" [swift]="ms-swift==4.6.0")
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(verl openrlhf swift)

export PIP_ROOT_USER_ACTION=ignore
# pip's output without the noise of index locations this machine lacks; keeps pip's status
quiet() {
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    printf '%s\n' "$out" | grep -v -e '^WARNING: Location' -e '^$' || true
    return "$rc"
}

torch_dir=.venvs/_torch
if [ ! -f "$torch_dir/.complete" ] || [ ! -d "$torch_dir/torch" ]; then
    rm -rf "$torch_dir"
    echo "trainer envs: torch (shared)"
    quiet "$PYTHON" -m pip install -q --no-compile --no-deps --target "$torch_dir" -r "$REQ/constraints.txt"
    touch "$torch_dir/.complete"
fi

build() {
    local name=$1 pin=${TRAINER[$1]} venv=.venvs/$1 start=$SECONDS stamp site
    # the stamp names this checkout's path too: an environment copied from another path points
    # at that path's torch and project (its .pth and editable install) and is rebuilt
    stamp=$( (cat "$0" "$REQ/constraints.txt" "$REQ/common.txt" "$REQ/$name.txt"; echo "$ROOT") \
        | sha256sum | cut -c1-16)
    if [ -f "$venv/.complete" ] && [ "$(cat "$venv/.complete")" = "$stamp" ]; then
        echo "trainer envs: $name is up to date"
        return 0
    fi
    echo "trainer envs: building $venv ($pin)"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$ROOT/$torch_dir" > "$site/_eemo_shared_torch.pth"
    # --no-compile: byte-compiling every installed file costs more CPU than the install;
    # Python compiles what the tests import
    local pip=("$venv/bin/python" -m pip install -q --no-compile -c "$REQ/constraints.txt")
    quiet "${pip[@]}" -r "$REQ/common.txt" -r "$REQ/$name.txt"
    quiet "${pip[@]}" --no-deps "$pin"
    quiet "${pip[@]}" --no-deps -e .
    "$venv/bin/python" -c "import torch, eemo_rewards; assert torch.__version__.startswith('2.13.0')"
    echo "$stamp" > "$venv/.complete"
    echo "trainer envs: $name built in $((SECONDS - start)) s"
}

for name in "${names[@]}"; do
    if [ -z "${TRAINER[$name]:-}" ]; then
        echo "unknown trainer '$name'; known: ${!TRAINER[*]}" >&2
        exit 2
    fi
done
# the builds are mostly downloads and unpacking: run them side by side, each logging to its
# own file, and fail when any fails
pids=()
for name in "${names[@]}"; do
    mkdir -p .venvs
    build "$name" > ".venvs/$name.log" 2>&1 &
    pids+=($!)
done
status=0
for i in "${!names[@]}"; do
    if ! wait "${pids[$i]}"; then
        status=1
        echo "trainer envs: building ${names[$i]} failed:" >&2
    fi
    cat ".venvs/${names[$i]}.log"
done
exit "$status"
