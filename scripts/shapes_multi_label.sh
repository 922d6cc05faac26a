#!/usr/bin/env bash
# Multi-label classification, no network needed: the shapes_multi dataset
# (32x32 images showing 1 to 3 of 5 shapes) -> train CifarNet with a sigmoid
# per class, validating mAP every 200 steps and keeping the best checkpoint
# -> evaluate it (mAP, F1, per-class AP in <WORK>/eval/index.html)
# -> export an int8 TFLite model and score it through classify_images.py on
# the validation images written out as files, against eval's mAP.
#
# Command: bash scripts/shapes_multi_label.sh [WORK_DIR]  (default /tmp/slim-multi)
# Runtime: 4 m 16 s in all on 2 busy CPU cores (load average 3-4; the
#   first three steps took 1 m 38 s on an idle machine).
# Expected (measured, this script from scratch, 2026-12-07): validation mAP
#   0.524 at step 200, 0.724 at 400, 0.857 at 600, 0.928 at 800, 0.947 at
#   1000, 0.963 at 1200, 0.973 at 1400, 0.975 at 1600; eval of best/ (step
#   1600) prints "mAP: 0.9747"; scored through classify_images.py on the 500
#   validation files, the SavedModel gives mAP 0.9746 and the int8 TFLite
#   model 0.9687, 0.6 points below eval (chance mAP is about 0.4, each
#   class's share of images). Training is not bit-reproducible (threaded
#   input): an earlier run from scratch reached 0.9675, its int8 model
#   0.9594 (0.8 points below).
# Note: --opt_epsilon=1e-8. slim's default epsilon of 1.0 makes Adam a
#   plain gradient step of size lr: with it the run above stays at chance.
#
# Usage: bash scripts/shapes_multi_label.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-/tmp/slim-multi}
DATA=$WORK/shapes_multi
TRAIN=$WORK/train
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}

echo "== 1/5 Generate the shapes_multi dataset in $DATA"
$PY download_and_convert_data.py --dataset_name=shapes_multi \
  --dataset_dir="$DATA"

echo "== 2/5 Train CifarNet for 1600 steps in $TRAIN"
$PY train_image_classifier.py --train_dir="$TRAIN" \
  --dataset_name=shapes_multi --dataset_split_name=train \
  --dataset_dir="$DATA" --model_name=cifarnet --preprocessing_name=lenet \
  --max_number_of_steps=1600 --batch_size=32 --optimizer=adam \
  --opt_epsilon=1e-8 --learning_rate=0.001 --learning_rate_decay_type=fixed \
  --weight_decay=0 --log_every_n_steps=200 --save_interval_secs=600 \
  --validation_split_name=validation --validation_every_n_steps=200 \
  --keep_best_checkpoints=1

echo "== 3/5 Evaluate the best checkpoint on the validation split"
$PY eval_image_classifier.py --checkpoint_path="$TRAIN/best" \
  --eval_dir="$WORK/eval" --dataset_name=shapes_multi \
  --dataset_split_name=validation --dataset_dir="$DATA" \
  --model_name=cifarnet --preprocessing_name=lenet --threshold=0.5

echo "== 4/5 Export a SavedModel and an int8 TFLite model of best/"
$PY tools/export_saved_model.py --model_name=cifarnet \
  --preprocessing_name=lenet --dataset_name=shapes_multi \
  --dataset_dir="$DATA" --checkpoint_path="$TRAIN/best" \
  --output_dir="$WORK/saved_model" --overwrite \
  --tflite_file="$WORK/model_int8.tflite" --tflite_quantization=int8 \
  --tflite_input_type=uint8 --dataset_split_name=train \
  --num_calibration_images=200

echo "== 5/5 Score both through classify_images.py on the validation files"
rm -rf "$WORK/validation_files" && mkdir -p "$WORK/validation_files"
$PY tools/dump_images.py --dataset_name=shapes_multi --dataset_dir="$DATA" \
  --dataset_split_name=validation --num_images=0 \
  --output_dir="$WORK/validation_files" > /dev/null
for MODEL in saved_model model_int8.tflite; do
  $PY classify_images.py --model="$WORK/$MODEL" \
    --images="$WORK/validation_files" --top_k=5 \
    --output="$WORK/preds_$MODEL.csv" --noprogress_bar
  echo -n "$MODEL through classify_images.py: "
  $PY tools/score_classifications.py --predictions="$WORK/preds_$MODEL.csv" \
    --labels_csv="$WORK/validation_files/labels.csv"
done
