#!/usr/bin/env bash
# Captions byte-identical across two revisions of the streaming core.
#
#   scripts/captions_identical.sh BEFORE_REV [AFTER_REV]   (AFTER_REV: HEAD)
#
# Captions allison-a/b (tiny.en and base) and the French and Spanish Asterisk
# sessions (base, language detected) from artifacts/eval with each revision's
# agent package, as `roomscribe transcribe --format jsonl` does (revisions on),
# on a deterministic clock (scripts/captions_identical.py), and diffs them:
# no output but "identical" means every event, text and time is the same.
# Outputs are cached per commit in $OUT (default /tmp/captions-identical);
# each run holds $CPU_LOCK (default /tmp/cpu.lock) while it decodes.
set -euo pipefail
shopt -s inherit_errexit  # a failed run inside $(caption ...) stops the script
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/captions-identical}
lock=${CPU_LOCK:-/tmp/cpu.lock}
runs=("allison-a tiny.en" "allison-b tiny.en" "allison-a base" "allison-b base"
      "asterisk-fr base" "asterisk-es base")

caption() {
    local commit dir name model
    commit=$(git -C "$root" rev-parse --verify "$1^{commit}")
    dir=$out/$commit
    if [ ! -d "$dir/tree" ]; then
        mkdir -p "$dir/tree.tmp"
        git -C "$root" archive "$commit" agent | tar -x -C "$dir/tree.tmp"
        mv "$dir/tree.tmp" "$dir/tree"
    fi
    mkdir -p "$dir/captions"
    for run in "${runs[@]}"; do
        read -r name model <<<"$run"
        local file=$dir/captions/$name-$model.jsonl
        [ -s "$file" ] && continue
        echo "captioning $name with $model at ${commit:0:10}" >&2
        flock "$lock" env PYTHONPATH="$dir/tree/agent" "$root/.venv/bin/python" \
            "$root/scripts/captions_identical.py" "$root/artifacts/eval/$name.wav" \
            "$file.tmp" --model "$model"
        mv "$file.tmp" "$file"
    done
    echo "$dir/captions"
}

# the sessions (allison-a/b, asterisk-fr/es) from the Debian packs, if not built yet
"$root/.venv/bin/python" -m roomscribe.bench.asterisk "$root/artifacts/eval" >/dev/null
before=$(caption "$1")
after=$(caption "${2:-HEAD}")
diff -r "$before" "$after"
echo "identical: $before $after"
