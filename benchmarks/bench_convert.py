"""Conversion throughput (images/sec) of the dataset converters on CPU.

    .venv/bin/python benchmarks/bench_convert.py
    .venv/bin/python benchmarks/bench_convert.py --workers=0,2,4 \
        --folder_images=2000 --image_size=256

Three workloads, each through the real converter code and the shared
parallel TFRecord writer, once per worker count (0 = no worker processes):
  * custom: a generated folder of JPEGs (--folder_images of
    --image_size^2, two classes), fully decoded and checked, kept as is;
  * cifar-like: 32x32x3 raw records PNG-encoded (--raw_images of them);
  * shapes: the embedded dataset's generator (its default 3,000 images).
The times include starting the worker processes; the output files are
byte-identical whatever the worker count (checked here too). Never part of
the test run: speed is measured here, not asserted in tests.
"""
import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np  # pylint: disable=g-import-not-at-top
from PIL import Image  # pylint: disable=g-import-not-at-top

from datasets import convert_custom  # pylint: disable=g-import-not-at-top
from datasets import convert_shapes  # pylint: disable=g-import-not-at-top
from datasets import dataset_utils  # pylint: disable=g-import-not-at-top
from datasets import image_coding  # pylint: disable=g-import-not-at-top
from datasets import tfrecord_writer  # pylint: disable=g-import-not-at-top


def _make_folder(root, num_images, size):
  rng = np.random.default_rng(0)
  y, x = np.mgrid[0:size, 0:size]
  for index in range(num_images):
    class_dir = os.path.join(root, 'class%d' % (index % 2))
    os.makedirs(class_dir, exist_ok=True)
    # Smooth pictures with some noise: JPEG sizes like photographs'.
    base = rng.uniform(0, 255, 3)
    image = (base + 60 * np.sin(x[..., None] / rng.uniform(5, 40)) +
             rng.normal(0, 8, (size, size, 3)))
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(
        os.path.join(class_dir, '%05d.jpg' % index), quality=90)


def _digest(folder):
  digest = hashlib.sha256()
  for name in sorted(os.listdir(folder)):
    if name.endswith('.tfrecord'):
      with open(os.path.join(folder, name), 'rb') as f:
        digest.update(f.read())
  return digest.hexdigest()


def _cifar_example(result):
  return dataset_utils.image_to_tfexample(result.data, result.format,
                                          result.height, result.width,
                                          result.label)


def _bench_custom(scratch, workers, folder_images, image_size):
  source = os.path.join(scratch, 'folder')
  if not os.path.isdir(source):
    _make_folder(source, folder_images, image_size)
  out = os.path.join(scratch, 'custom_%d' % workers)
  start = time.time()
  meta = convert_custom.run(out, source, num_shards=4, num_workers=workers)
  seconds = time.time() - start
  return sum(meta['splits'].values()) / seconds, _digest(out)


def _bench_raw(scratch, workers, raw_images):
  rng = np.random.default_rng(0)
  data = rng.integers(0, 256, size=(raw_images, 3073), dtype=np.uint8)
  data[:, 0] %= 10
  tasks = [(row.tobytes(),) for row in data]
  out = os.path.join(scratch, 'raw_%d' % workers)
  os.makedirs(out)
  start = time.time()
  tfrecord_writer.write_shards(
      [(os.path.join(out, 'cifar.tfrecord'), tasks)],
      image_coding.cifar_record_to_png, _cifar_example, num_workers=workers,
      chunk_size=256)
  return raw_images / (time.time() - start), _digest(out)


def _bench_shapes(scratch, workers):
  out = os.path.join(scratch, 'shapes_%d' % workers)
  start = time.time()
  meta = convert_shapes.run(out, num_workers=workers)
  return sum(meta['splits'].values()) / (time.time() - start), _digest(out)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--workers', default='0,2',
                      help='comma-separated worker counts (0: none)')
  parser.add_argument('--folder_images', type=int, default=600)
  parser.add_argument('--image_size', type=int, default=224)
  parser.add_argument('--raw_images', type=int, default=10000)
  parser.add_argument('--workloads', default='custom,cifar,shapes')
  args = parser.parse_args()
  workers = [int(w) for w in args.workers.split(',')]
  workloads = args.workloads.split(',')
  scratch = tempfile.mkdtemp(prefix='bench_convert_')
  try:
    print('%-8s %8s %12s' % ('workload', 'workers', 'images/sec'))
    for workload in workloads:
      digests = set()
      for count in workers:
        if workload == 'custom':
          rate, digest = _bench_custom(scratch, count, args.folder_images,
                                       args.image_size)
        elif workload == 'cifar':
          rate, digest = _bench_raw(scratch, count, args.raw_images)
        elif workload == 'shapes':
          rate, digest = _bench_shapes(scratch, count)
        else:
          raise SystemExit('unknown workload %r; valid: custom, cifar, shapes'
                           % workload)
        digests.add(digest)
        print('%-8s %8d %12.0f' % (workload, count, rate), flush=True)
      print('%-8s output identical across worker counts: %s'
            % (workload, len(digests) == 1))
  finally:
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == '__main__':
  main()
