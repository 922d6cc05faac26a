"""Downloads MNIST and converts it to TFRecords of TF-Examples.

  python download_and_convert_data.py --dataset_name=mnist --dataset_dir=/tmp/mnist

Output, as the original converter wrote it: `mnist_train.tfrecord` (60,000
images) and `mnist_test.tfrecord` (10,000), each image a 28x28x1 PNG
(image/format b'png'), and labels.txt (0:zero ... 9:nine). The four gzipped
IDX files come from the CVDF mirror and are checked against their SHA-256.
"""
import gzip
import os
import struct

from datasets import dataset_utils
from datasets import image_coding
from datasets import tfrecord_writer
from datasets.errors import DatasetError

NAME = 'mnist'
DATA_URL = 'https://storage.googleapis.com/cvdf-datasets/mnist/'
# File name -> SHA-256, from compat/dataset_sources.md.
FILES = {
    'train-images-idx3-ubyte.gz':
        '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    'train-labels-idx1-ubyte.gz':
        '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
    't10k-images-idx3-ubyte.gz':
        '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
    't10k-labels-idx1-ubyte.gz':
        'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
}
_SPLIT_FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
CLASS_NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven',
               'eight', 'nine']
_IMAGES_MAGIC = 2051
_LABELS_MAGIC = 2049


def dataset_exists(dataset_dir):
  """Whether a finished conversion (records, then labels.txt) is there."""
  return dataset_utils.split_records_finished(dataset_dir, NAME, _SPLIT_FILES)


def _read_idx(path, magic, num_dims):
  """Returns (dims, payload) of a gzipped IDX file, checking its header."""
  try:
    with gzip.open(path, 'rb') as f:
      data = f.read()
  except (OSError, EOFError) as e:
    raise DatasetError('cannot read %s as a gzip file (%s); delete it and '
                       'rerun' % (path, e)) from None
  header = 4 + 4 * num_dims
  if len(data) < header or struct.unpack('>i', data[:4])[0] != magic:
    raise DatasetError('%s is not an MNIST IDX file: expected magic number '
                       '%d' % (path, magic))
  dims = struct.unpack('>' + 'i' * num_dims, data[4:header])
  expected = 1
  for dim in dims:
    expected *= dim
  if len(data) - header != expected:
    raise DatasetError('%s is truncated: header says %s, found %d bytes of '
                       'data' % (path, 'x'.join(map(str, dims)),
                                 len(data) - header))
  return dims, data[header:]


def read_split(images_path, labels_path):
  """Returns writer tasks (pixels, rows, cols, label) of one split.

  Args:
    images_path: gzipped IDX3 image file.
    labels_path: gzipped IDX1 label file.

  Returns:
    A list of tasks for `image_coding.gray_to_png`.

  Raises:
    DatasetError: a file is malformed or the counts differ.
  """
  (count, rows, cols), pixels = _read_idx(images_path, _IMAGES_MAGIC, 3)
  (label_count,), labels = _read_idx(labels_path, _LABELS_MAGIC, 1)
  if label_count != count:
    raise DatasetError('%s has %d images but %s has %d labels'
                       % (images_path, count, labels_path, label_count))
  if labels and max(labels) >= len(CLASS_NAMES):
    raise DatasetError('%s has label %d; valid labels are 0..9'
                       % (labels_path, max(labels)))
  size = rows * cols
  return [(pixels[i * size:(i + 1) * size], rows, cols, labels[i])
          for i in range(count)]


def run(dataset_dir, mirror=None, verify_checksums=True, retries=None,
        num_workers=None, scratch_dir=None,
        checksums=None):
  """Downloads and converts MNIST into `dataset_dir`.

  Args:
    dataset_dir: the folder receiving the records (created if needed).
    mirror: optional URL prefix replacing everything before the file names.
    verify_checksums: whether to check the files' SHA-256.
    retries: download retries after a transient failure (None: default).
    num_workers: worker processes (None: automatic; 0 or 1: none).
    scratch_dir: local folder for the downloaded files (None: see
      `dataset_utils.scratch_dir_for`).
    checksums: dict file name -> SHA-256 (None: the published ones; tests
      pass their own).

  Raises:
    DatasetError: a download failed or did not verify, or a file is not in
      the IDX format.
  """
  checksums = FILES if checksums is None else checksums
  if dataset_utils.skip_finished_conversion(dataset_dir, dataset_exists):
    return
  scratch_dir = dataset_utils.scratch_dir_for(dataset_dir, scratch_dir)
  paths = {name: dataset_utils.download_url(
      DATA_URL + name, scratch_dir, sha256=checksums.get(name), mirror=mirror,
      verify_checksums=verify_checksums, retries=retries) for name in FILES}
  all_stats = []
  for split_name, (images, labels) in _SPLIT_FILES.items():
    tasks = read_split(paths[images], paths[labels])
    stats = tfrecord_writer.write_shards(
        [(dataset_utils.split_record_filename(dataset_dir, NAME, split_name),
          tasks)],
        image_coding.gray_to_png, dataset_utils.result_to_tfexample,
        num_workers=num_workers, chunk_size=256, desc='mnist ' + split_name)
    all_stats.append(stats)

  dataset_utils.write_label_file(dict(enumerate(CLASS_NAMES)), dataset_dir)
  for path in paths.values():
    os.remove(path)
  tfrecord_writer.log_finished('converting MNIST', all_stats)
