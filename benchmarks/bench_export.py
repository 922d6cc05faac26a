"""Size and speed of each export format: the SavedModel and float32,
dynamic-range, float16 and int8 TFLite, and with --qat_checkpoint_path the
int8 TFLite of a quantization-aware-trained checkpoint.

    .venv/bin/python benchmarks/bench_export.py --checkpoint_path=/tmp/slim-demo/train \\
        --qat_checkpoint_path=/tmp/slim-demo/train_qat \\
        --model_name=cifarnet --preprocessing_name=lenet \\
        --dataset_name=shapes --dataset_dir=/tmp/slim-demo/shapes

Exports the checkpoint (random weights without --checkpoint_path) with
tools/export_saved_model.py's functions into a temporary folder, int8
calibrated on --num_calibration_images of the train split, then classifies
--num_images validation images (random ones without --dataset_dir) one
--batch_size at a time with each model through tools/classifiers.py (what
classify_images.py runs) and prints, per format, the file size, images/sec
and the top-1 agreement with the SavedModel. The TFLite runs use
--num_threads interpreter threads. With --dataset_dir each row also gives
the top-1 accuracy on those images; the QAT row's agreement is with the
float SavedModel too (another checkpoint, so not 100% by construction).
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
from image_classifier import tf_env  # pylint: disable=unused-import,g-bad-import-order

import numpy as np
import tensorflow as tf

import slim
from image_classifier import network
from tools import classifiers
from tools import export_saved_model
from tools import model_info

tf1 = tf.compat.v1


def _random_checkpoint(model_name, num_classes, directory):
  with tf.Graph().as_default():
    slim.get_or_create_global_step()
    network.build_inference_graph(model_name, num_classes)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      return tf1.train.Saver().save(sess, os.path.join(directory, 'model'))


def _size(path):
  if os.path.isfile(path):
    return os.path.getsize(path)
  return sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(path) for name in names)


def _validation(dataset_name, dataset_dir, num_images, info):
  """(images, labels) of the first num_images validation images, the
  images through the model's eval preprocessing."""
  return export_saved_model.first_batch(dataset_name, dataset_dir,
                                        'validation', num_images, info)


def _parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--model_name', default='cifarnet')
  parser.add_argument('--checkpoint_path', default=None)
  parser.add_argument('--qat_checkpoint_path', default=None,
                      help='a checkpoint trained with --quantize_delay')
  parser.add_argument('--preprocessing_name', default=None)
  parser.add_argument('--dataset_name', default='shapes')
  parser.add_argument('--dataset_dir', default=None)
  parser.add_argument('--num_classes', type=int, default=None,
                      help='default: the dataset\'s')
  parser.add_argument('--num_calibration_images', type=int, default=200)
  parser.add_argument('--num_images', type=int, default=500)
  parser.add_argument('--batch_size', type=int, default=1)
  parser.add_argument('--num_threads', type=int, default=None)
  return parser.parse_args()


def _images(args, info):
  """(calibration images, images, labels): the dataset's preprocessed, or
  random ones (labels None) without --dataset_dir."""
  if args.dataset_dir:
    calibration = export_saved_model.calibration_images(
        args.dataset_name, args.dataset_dir, 'train',
        args.num_calibration_images, info)
    images, labels = _validation(args.dataset_name, args.dataset_dir,
                                 args.num_images, info)
    return calibration, images, labels
  size = info.image_size
  rng = np.random.default_rng(0)
  calibration = rng.uniform(-1, 1, [args.num_calibration_images, size,
                                    size, 3]).astype(np.float32)
  images = rng.uniform(-1, 1, [args.num_images, size, size, 3]).astype(
      np.float32)
  return calibration, images, None


def _tflite_models(args, work, saved_model, num_classes, calibration):
  """{row name: path} of the TFLite conversions of `saved_model` and, with
  --qat_checkpoint_path, the int8 one of the QAT checkpoint."""
  models = {}
  for quantization in export_saved_model.QUANTIZATIONS:
    path = os.path.join(work, f'{quantization}.tflite')
    export_saved_model.convert_to_tflite(
        saved_model, path, quantization,
        calibration=calibration if quantization == 'int8' else None,
        input_type='uint8' if quantization == 'int8' else 'float32')
    models[f'tflite {quantization}'] = path
  if args.qat_checkpoint_path:
    qat_saved_model = os.path.join(work, 'saved_model_qat')
    export_saved_model.export_saved_model(
        args.model_name, num_classes, args.qat_checkpoint_path,
        qat_saved_model, preprocessing_name=args.preprocessing_name,
        quantize=True)
    path = os.path.join(work, 'qat_int8.tflite')
    export_saved_model.convert_to_tflite(
        qat_saved_model, path, 'int8', calibration=calibration,
        input_type='uint8', quantized_checkpoint=True)
    models['tflite int8, QAT checkpoint'] = path
  return models


def _print_table(models, images, labels, batch_size, num_threads):
  """One row per model: size, images/sec, agreement with the first."""
  print('| format | size | images/sec | top-1 = SavedModel | accuracy |')
  print('|---|---:|---:|---:|---:|')
  reference = None
  for name, path in models.items():
    classifier = classifiers.load(path, None, num_threads=num_threads)
    classifier.predict(images[:batch_size])  # Warm-up.
    start = time.perf_counter()
    outputs = [classifier.predict(images[i:i + batch_size])
               for i in range(0, len(images), batch_size)]
    elapsed = time.perf_counter() - start
    top1 = np.concatenate(outputs).argmax(1)
    if reference is None:
      reference = top1
    classifier.close()
    accuracy = (f'{np.mean(top1 == labels):.1%}' if labels is not None
                else '-')
    print(f'| {name} | {_size(path) / 1e6:.2f} MB | '
          f'{len(images) / elapsed:,.0f} | {np.mean(top1 == reference):.1%} '
          f'| {accuracy} |')


def main():
  args = _parse_args()
  num_classes = args.num_classes or network.dataset_num_classes(
      args.dataset_name, args.dataset_dir)
  work = tempfile.mkdtemp(prefix='bench-export-')
  checkpoint = args.checkpoint_path or _random_checkpoint(
      args.model_name, num_classes, work)
  saved_model = os.path.join(work, 'saved_model')
  info = export_saved_model.export_saved_model(
      args.model_name, num_classes, checkpoint, saved_model,
      preprocessing_name=args.preprocessing_name,
      labels=model_info.class_names(args.dataset_name, args.dataset_dir,
                                    num_classes))
  calibration, images, labels = _images(args, info)
  models = {'saved_model': saved_model,
            **_tflite_models(args, work, saved_model, num_classes,
                             calibration)}
  size = info.image_size
  print(f'{args.model_name} {size}x{size}, {num_classes} classes, '
        f'{len(images)} images, batch {args.batch_size}, TF {tf.__version__}')
  _print_table(models, images, labels, args.batch_size, args.num_threads)


if __name__ == '__main__':
  main()
