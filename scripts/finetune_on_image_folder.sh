#!/usr/bin/env bash
# Fine-tunes a network with imported Keras ImageNet weights on your own
# images (one sub-folder per class): first the new classifier alone, then
# every layer, then the report of the result.
#
# Command: bash scripts/finetune_on_image_folder.sh SOURCE_DIR [MODEL] \
#            [DATASET_DIR] [TRAIN_DIR]
# MODEL: efficientnet_b0 by default; any network tools/keras_maps imports
# (`tools/download_checkpoint.py --list` shows them; docs/networks.md).
# The weights: KERAS_WEIGHTS=FILE imports a Keras weights file you have (the
# published legacy .h5 or a Keras 3 .weights.h5) with
# tools/import_keras_weights.py; without it tools/download_checkpoint.py
# downloads the published file into CHECKPOINT_DIR and imports it
# (MIRROR=URL to use a mirror).
# Knobs (environment): SIZE (the network's own, e.g. 224), HEAD_STEPS (500;
# 0 skips the classifier-only stage), STEPS (1000), BATCH (32), HEAD_LR
# (0.001), LR (0.0001), WARMUP_EPOCHS (1), BN_DECAY (0.99), PREPROCESSING
# (the network's), CHECKPOINT_DIR (/tmp/checkpoints).
#
# Why these values: the imported layers already compute good features, so
# the new classifier (the scopes the import names: the 1000-class layers)
# learns alone first, at a rate an untrained layer needs, and the whole
# network then moves at a tenth of it, with a linear warm-up, so that the
# first steps' large gradients of a still poor classifier do not undo the
# imported weights. AdamW's decoupled weight decay replaces the L2 loss
# (--weight_decay=0); --opt_epsilon=1e-8 is Adam's. The batch-norm decay
# suits a thousand steps (the networks' own 0.99 is Keras' momentum; 0.9 for
# EfficientNetV2), and it is ignored by networks without batch norm
# (ConvNeXt).
#
# Not measured here: the development machine cannot reach the published
# weights, so the script's figures are not measured yet (its steps are
# tested with random Keras-layout weights, tests/test_finetune_script.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SOURCE_DIR=${1:?usage: $0 SOURCE_DIR [MODEL] [DATASET_DIR] [TRAIN_DIR]}
MODEL=${2:-efficientnet_b0}
DATASET_DIR=${3:-/tmp/custom-data}
TRAIN_DIR=${4:-/tmp/custom-finetune/$MODEL}
CHECKPOINT_DIR=${CHECKPOINT_DIR:-/tmp/checkpoints}
HEAD_STEPS=${HEAD_STEPS:-500}
STEPS=${STEPS:-1000}
BATCH=${BATCH:-32}
HEAD_LR=${HEAD_LR:-0.001}
LR=${LR:-0.0001}
WARMUP_EPOCHS=${WARMUP_EPOCHS:-1}
BN_DECAY=${BN_DECAY:-0.99}
SIZE=${SIZE:-}
PREPROCESSING=${PREPROCESSING:-}
# Optional flags, given only when set.
SIZE_FLAG=${SIZE:+--train_image_size=$SIZE}
EVAL_SIZE_FLAG=${SIZE:+--eval_image_size=$SIZE}
PREPROCESSING_FLAG=${PREPROCESSING:+--preprocessing_name=$PREPROCESSING}

# (a) The ImageNet weights as a checkpoint of ours (1000 classes).
mkdir -p "$CHECKPOINT_DIR"
if [[ -n "${KERAS_WEIGHTS:-}" ]]; then
  CHECKPOINT="$CHECKPOINT_DIR/${MODEL}_imported.ckpt"
  [[ -e "$CHECKPOINT.index" ]] || $PY tools/import_keras_weights.py \
    --model_name="$MODEL" --keras_weights="$KERAS_WEIGHTS" \
    --output_checkpoint="$CHECKPOINT"
else
  # The Keras weights' name: the model's, or <model>_keras where slim
  # weights have the model's (inception_v3_keras).
  WEIGHTS=$($PY -c 'import sys; from tools import download_checkpoint as d
print(*[n for n, m in d.KERAS_CHECKPOINTS.items() if m == sys.argv[1]])' "$MODEL")
  CHECKPOINT=$($PY tools/download_checkpoint.py --checkpoint="${WEIGHTS:-$MODEL}" \
    --checkpoint_dir="$CHECKPOINT_DIR" ${MIRROR:+--mirror="$MIRROR"} | tail -n 1)
fi
# The classifier's scopes, which the import prints as
# --checkpoint_exclude_scopes: they hold 1000 ImageNet classes, not yours.
HEAD=$($PY -c 'import sys; from tools import import_keras_weights as k
print(",".join(k.checkpoint_head_scopes(*sys.argv[1:])))' "$MODEL" "$CHECKPOINT")

# (b) Your folder as TFRecords, with a validation split.
$PY download_and_convert_data.py --dataset_name=custom \
  --source_dir="$SOURCE_DIR" --dataset_dir="$DATASET_DIR"

# (c) The new classifier alone, then every layer from there.
START="$CHECKPOINT"
EXCLUDE_FLAG=--checkpoint_exclude_scopes="$HEAD"
if (( HEAD_STEPS > 0 )); then
  $PY train_image_classifier.py --train_dir="$TRAIN_DIR/head" \
    --dataset_name=custom --dataset_split_name=train \
    --dataset_dir="$DATASET_DIR" --model_name="$MODEL" $PREPROCESSING_FLAG \
    $SIZE_FLAG --batch_size="$BATCH" --checkpoint_path="$CHECKPOINT" \
    --checkpoint_exclude_scopes="$HEAD" --trainable_scopes="$HEAD" \
    --max_number_of_steps="$HEAD_STEPS" --optimizer=adamw \
    --learning_rate="$HEAD_LR" --learning_rate_decay_type=fixed \
    --opt_epsilon=1e-8 --adamw_weight_decay=0.05 --weight_decay=0 \
    --batch_norm_decay="$BN_DECAY" --log_every_n_steps=100
  START="$TRAIN_DIR/head"
  EXCLUDE_FLAG=  # The head stage's checkpoint has your classes.
fi
$PY train_image_classifier.py --train_dir="$TRAIN_DIR/all" \
  --dataset_name=custom --dataset_split_name=train \
  --dataset_dir="$DATASET_DIR" --model_name="$MODEL" $PREPROCESSING_FLAG \
  $SIZE_FLAG --batch_size="$BATCH" --checkpoint_path="$START" $EXCLUDE_FLAG \
  --max_number_of_steps="$STEPS" --optimizer=adamw --learning_rate="$LR" \
  --learning_rate_decay_type=cosine --warmup_epochs="$WARMUP_EPOCHS" \
  --end_learning_rate=1e-6 --opt_epsilon=1e-8 --adamw_weight_decay=0.05 \
  --weight_decay=0 --batch_norm_decay="$BN_DECAY" --log_every_n_steps=100

# (d) Accuracy on the validation split, with the report (per-class figures,
# confusion matrix, the 20 most confident mistakes: all/eval/index.html).
$PY eval_image_classifier.py --checkpoint_path="$TRAIN_DIR/all" \
  --eval_dir="$TRAIN_DIR/all/eval" --dataset_name=custom \
  --dataset_split_name=validation --dataset_dir="$DATASET_DIR" \
  --model_name="$MODEL" $PREPROCESSING_FLAG $EVAL_SIZE_FLAG \
  --report_misclassified=20
