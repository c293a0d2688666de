#!/bin/sh
# Relearns a body's embeddings on a corpus with the body frozen, splices each
# checkpoint into an English task model and scores it on a test file: the
# "English as a new language" control by hand, for pilots of adaptation
# settings (see the README's downstream section).
#
#   scripts/relearn.sh BODY TASK_MODEL DATA TEST OUT LR UPDATES BUDGET SAVE_AT
#
# BODY is the pretrained checkpoint the task model was fine-tuned from; DATA a
# directory made by "lethe prepare" with the body's own tokenizer; SAVE_AT a
# comma-separated list of updates. Prints one line per checkpoint: update,
# mask-only validation loss, zero-shot accuracy. LETHE names the binary
# (default: lethe on PATH).
set -eu
if [ $# -ne 9 ]; then
	echo "usage: $0 BODY TASK_MODEL DATA TEST OUT LR UPDATES BUDGET SAVE_AT" >&2
	exit 2
fi
body=$1 task=$2 data=$3 test=$4 out=$5 lr=$6 updates=$7 budget=$8 saveat=$9
lethe=${LETHE:-lethe}
warmup=$((updates < 1000 ? updates / 10 : 100))
$lethe adapt --from "$body" --tokenizer "$body/sentencepiece.model" --data "$data" --max-tokens "$budget" \
	--updates "$updates" --warmup "$warmup" --lr "$lr" --batch-size 16 --clip-norm 0.5 --save-at "$saveat" \
	--valid-every 250 --valid-batches 20 --out "$out" >"$out.log" 2>&1
for u in $(echo "$saveat" | tr ',' ' '); do
	spliced="$out/spliced-$u"
	rm -rf "$spliced"
	$lethe splice --task "$task" --language "$out/checkpoint-$u" --lang en --out "$spliced" >/dev/null
	acc=$($lethe eval --model "$spliced" "$test" 2>/dev/null | awk '/^accuracy/ {print $2}')
	loss=$(grep "\"update\":$u,\"valid" "$out/metrics.jsonl" | sed 's/.*"valid_mask_only_loss":\([0-9.]*\).*/\1/' | cut -c1-5)
	echo "update $u  mask-only $loss  accuracy $acc"
	rm -rf "$spliced"
done
