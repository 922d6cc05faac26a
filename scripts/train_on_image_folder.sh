#!/usr/bin/env bash
# Trains a classifier on your own images: one sub-folder per class.
#
# Command: bash scripts/train_on_image_folder.sh SOURCE_DIR \
#            [DATASET_DIR] [TRAIN_DIR] [MODEL_NAME]
# SOURCE_DIR/<class name>/*.jpg|png|bmp|gif; 10% of each class is held out
# for validation. Unreadable files are skipped and listed.
# Runtime and result depend on your data; the defaults train MobileNet v1
# 0.25 at 128x128 for 2000 steps (minutes on 2 CPU cores: bench_nets.py
# measures ~250 training images/sec at 224x224, batch 32, before JPEG
# decoding) and print the validation Accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SOURCE_DIR=${1:?usage: $0 SOURCE_DIR [DATASET_DIR] [TRAIN_DIR] [MODEL_NAME]}
DATASET_DIR=${2:-/tmp/custom-data}
TRAIN_DIR=${3:-/tmp/custom-train}
MODEL=${4:-mobilenet_v1_025}
SIZE=${SIZE:-128}
STEPS=${STEPS:-2000}

$PY download_and_convert_data.py --dataset_name=custom \
  --source_dir="$SOURCE_DIR" --dataset_dir="$DATASET_DIR"

$PY train_image_classifier.py --train_dir="$TRAIN_DIR" \
  --dataset_name=custom --dataset_split_name=train \
  --dataset_dir="$DATASET_DIR" --model_name="$MODEL" \
  --train_image_size="$SIZE" --max_number_of_steps="$STEPS" \
  --batch_size=32 --optimizer=rmsprop --learning_rate=0.01 \
  --log_every_n_steps=50

$PY eval_image_classifier.py --checkpoint_path="$TRAIN_DIR" \
  --eval_dir="$TRAIN_DIR/eval" --dataset_name=custom \
  --dataset_split_name=validation --dataset_dir="$DATASET_DIR" \
  --model_name="$MODEL" --eval_image_size="$SIZE"
