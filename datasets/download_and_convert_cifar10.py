"""Downloads CIFAR-10 and converts it to TFRecords of TF-Examples.

  python download_and_convert_data.py --dataset_name=cifar10 --dataset_dir=/tmp/cifar10

Output, as the original converter wrote it: `cifar10_train.tfrecord` (50,000
images from data_batch_1..5, in order), `cifar10_test.tfrecord` (10,000 from
test_batch), each image a 32x32x3 PNG (image/format b'png'), and labels.txt
(0:airplane ... 9:truck).

Unlike the original, this reads the *binary* distribution
(cifar-10-binary.tar.gz: fixed 3073-byte records) and never unpickles
downloaded data, which could execute code.
"""
import os
import shutil

from datasets import dataset_utils
from datasets import image_coding
from datasets import tfrecord_writer
from datasets.errors import DatasetError

NAME = 'cifar10'
DATA_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'
SHA256 = 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd'
CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
               'horse', 'ship', 'truck']
RECORD_BYTES = 1 + 32 * 32 * 3
_BATCH_DIR = 'cifar-10-batches-bin'
_SPLIT_FILES = {
    'train': ['data_batch_%d.bin' % i for i in range(1, 6)],
    'test': ['test_batch.bin'],
}


def dataset_exists(dataset_dir):
  """Whether a finished conversion (records, then labels.txt) is there."""
  return dataset_utils.split_records_finished(dataset_dir, NAME, _SPLIT_FILES)


def read_records(path):
  """Returns the 3073-byte records of one binary batch file.

  Args:
    path: a data_batch_N.bin or test_batch.bin file.

  Returns:
    A list of bytes objects.

  Raises:
    DatasetError: the file is not a whole number of records or has a label
      outside 0..9.
  """
  with open(path, 'rb') as f:
    data = f.read()
  if not data or len(data) % RECORD_BYTES:
    raise DatasetError('%s is not a CIFAR-10 binary batch: %d bytes is not a '
                       'positive multiple of %d' % (path, len(data),
                                                    RECORD_BYTES))
  records = [data[i:i + RECORD_BYTES] for i in range(0, len(data),
                                                     RECORD_BYTES)]
  bad = [r[0] for r in records if r[0] >= len(CLASS_NAMES)]
  if bad:
    raise DatasetError('%s has label %d; valid labels are 0..%d'
                       % (path, bad[0], len(CLASS_NAMES) - 1))
  return records


def run(dataset_dir, mirror=None, verify_checksums=True, retries=None,
        num_workers=None, scratch_dir=None,
        sha256=SHA256):
  """Downloads and converts CIFAR-10 into `dataset_dir`.

  Args:
    dataset_dir: the folder receiving the records (created if needed).
    mirror: optional URL prefix replacing everything before the file name.
    verify_checksums: whether to check the archive's SHA-256.
    retries: download retries after a transient failure (None: default).
    num_workers: worker processes (None: automatic; 0 or 1: none).
    scratch_dir: local folder for the archive and its extracted files
      (None: see `dataset_utils.scratch_dir_for`).
    sha256: expected SHA-256 of the archive (tests pass their own).

  Raises:
    DatasetError: the download failed or did not verify, or the archive is
      unsafe or not in the binary CIFAR-10 format.
  """
  if dataset_utils.skip_finished_conversion(dataset_dir, dataset_exists):
    return
  scratch_dir = dataset_utils.scratch_dir_for(dataset_dir, scratch_dir)
  archive = dataset_utils.download_and_uncompress_tarball(
      DATA_URL, scratch_dir, sha256=sha256, mirror=mirror,
      verify_checksums=verify_checksums, retries=retries)
  batch_dir = os.path.join(scratch_dir, _BATCH_DIR)
  all_stats = []
  for split_name, files in _SPLIT_FILES.items():
    tasks = []
    for name in files:
      path = os.path.join(batch_dir, name)
      if not os.path.exists(path):
        raise DatasetError('the archive %s has no %s/%s; is it the binary '
                           'version (cifar-10-binary.tar.gz)?'
                           % (archive, _BATCH_DIR, name))
      tasks.extend((record,) for record in read_records(path))
    stats = tfrecord_writer.write_shards(
        [(dataset_utils.split_record_filename(dataset_dir, NAME, split_name),
          tasks)],
        image_coding.cifar_record_to_png, dataset_utils.result_to_tfexample,
        num_workers=num_workers, chunk_size=256, desc='cifar10 ' + split_name)
    all_stats.append(stats)

  dataset_utils.write_label_file(dict(enumerate(CLASS_NAMES)), dataset_dir)
  os.remove(archive)
  shutil.rmtree(batch_dir)
  tfrecord_writer.log_finished('converting CIFAR-10', all_stats)
