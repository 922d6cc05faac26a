#!/usr/bin/env bash
# "To a phone" on the shapes data, no network needed:
#   shapes dataset -> train CifarNet (float) -> quantization-aware fine-tuning
#   (--quantize_delay=0) -> evaluate both (the QAT one with --quantize) ->
#   export a SavedModel and an int8 TFLite model from the QAT checkpoint
#   (--quantize: the layers' ranges come from the checkpoint) -> classify
#   images with it.
#
# Runtime: about four minutes on 2 busy CPU cores.
# Expected: "Accuracy: 0.9x" from both evaluations (QAT within a point or two
# of float), the int8 model's input scale and zero point, and
# classify_images.py writing preds.csv with the right shape first for most
# images (each file name says its true shape).
#
# Usage: bash scripts/to_a_phone_shapes.sh [WORK_DIR]   (default /tmp/slim-phone)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-/tmp/slim-phone}
DATA=$WORK/shapes
TRAIN=$WORK/train
QAT=$WORK/train_qat
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}

echo "== 1/7 Generate the shapes dataset in $DATA"
$PY download_and_convert_data.py --dataset_name=shapes --dataset_dir="$DATA"

echo "== 2/7 Train CifarNet for 800 steps in $TRAIN"
$PY train_image_classifier.py --train_dir="$TRAIN" --dataset_name=shapes \
  --dataset_split_name=train --dataset_dir="$DATA" --model_name=cifarnet \
  --preprocessing_name=lenet --max_number_of_steps=800 --batch_size=32 \
  --optimizer=sgd --learning_rate=0.1 --learning_rate_decay_type=fixed \
  --weight_decay=0 --log_every_n_steps=100 --save_interval_secs=60

echo "== 3/7 Quantization-aware fine-tuning from it, 200 steps in $QAT"
# --quantize_delay=0: fake quantization from the first step. The activation
# ranges are moving averages over the whole run, so starting QAT from a
# trained float network gives ranges that fit it (as the published *_quant
# checkpoints were made).
$PY train_image_classifier.py --train_dir="$QAT" --dataset_name=shapes \
  --dataset_split_name=train --dataset_dir="$DATA" --model_name=cifarnet \
  --preprocessing_name=lenet --checkpoint_path="$TRAIN" --quantize_delay=0 \
  --max_number_of_steps=200 --batch_size=32 --optimizer=sgd \
  --learning_rate=0.01 --learning_rate_decay_type=fixed --weight_decay=0 \
  --log_every_n_steps=100 --save_interval_secs=60

echo "== 4/7 Evaluate the float run on the validation split"
$PY eval_image_classifier.py --checkpoint_path="$TRAIN" \
  --eval_dir="$WORK/eval" --dataset_name=shapes \
  --dataset_split_name=validation --dataset_dir="$DATA" \
  --model_name=cifarnet --preprocessing_name=lenet

echo "== 5/7 Evaluate the QAT run, quantized (--quantize)"
$PY eval_image_classifier.py --checkpoint_path="$QAT" \
  --eval_dir="$WORK/eval_qat" --dataset_name=shapes \
  --dataset_split_name=validation --dataset_dir="$DATA" \
  --model_name=cifarnet --preprocessing_name=lenet --quantize

echo "== 6/7 Export a SavedModel and an int8 TFLite model (uint8 input)"
$PY tools/export_saved_model.py --model_name=cifarnet \
  --checkpoint_path="$QAT" --dataset_name=shapes --dataset_dir="$DATA" \
  --preprocessing_name=lenet --output_dir="$WORK/saved_model_qat" --overwrite \
  --quantize --tflite_file="$WORK/cifarnet_qat_int8.tflite" \
  --tflite_quantization=int8 --tflite_input_type=uint8 \
  --dataset_split_name=train --num_calibration_images=200

echo "== 7/7 Classify validation images with the int8 model"
$PY tools/dump_images.py --dataset_name=shapes --dataset_dir="$DATA" \
  --dataset_split_name=validation --num_images=20 \
  --output_dir="$WORK/samples" > /dev/null
$PY classify_images.py --model="$WORK/cifarnet_qat_int8.tflite" \
  --images="$WORK/samples" --top_k=3 --output="$WORK/preds.csv"
head -n 7 "$WORK/preds.csv"
