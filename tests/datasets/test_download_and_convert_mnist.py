"""Tests of the MNIST converter on tiny IDX files in the real format."""
import gzip
import os

import numpy as np
import pytest

from datasets import dataset_utils
from datasets import download_and_convert_mnist as mnist
from datasets.errors import DatasetError
from tests.datasets.archive_server import decode
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import idx_gz
from tests.datasets.archive_server import read_records
from tests.datasets.archive_server import server  # pylint: disable=unused-import


def _serve(server, rng, counts=(5, 3)):
  expected, checksums = {}, {}
  for split, prefix, count in (('train', 'train', counts[0]),
                               ('test', 't10k', counts[1])):
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count).astype(np.uint8)
    name = '%s-images-idx3-ubyte.gz' % prefix
    checksums[name] = server.add(name, idx_gz(images, 2051))
    name = '%s-labels-idx1-ubyte.gz' % prefix
    checksums[name] = server.add(name, idx_gz(labels, 2049))
    expected[split] = (images, labels)
  return expected, checksums


def test_records_decode_to_the_source_pixels_and_labels(server, tmp_path):
  expected, checksums = _serve(server, np.random.default_rng(1))
  mnist.run(str(tmp_path), mirror=server.url, checksums=checksums,
            num_workers=0)
  assert sorted(os.listdir(tmp_path)) == [
      'labels.txt', 'mnist_test.tfrecord', 'mnist_train.tfrecord']
  assert dataset_utils.read_label_file(str(tmp_path)) == dict(enumerate(
      ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight',
       'nine']))
  for split, (images, labels) in expected.items():
    examples = read_records(str(tmp_path / ('mnist_%s.tfrecord' % split)))
    assert len(examples) == len(images)
    for example, image, label in zip(examples, images, labels):
      pixels = decode(example)
      assert pixels.shape == (28, 28, 1)
      np.testing.assert_array_equal(pixels[:, :, 0], image)
      assert feature(example, 'image/class/label') == [label]
      assert feature(example, 'image/format') == [b'png']
      assert (feature(example, 'image/height'),
              feature(example, 'image/width')) == ([28], [28])


def test_wrong_magic_number_is_a_clear_error(server, tmp_path):
  _, checksums = _serve(server, np.random.default_rng(2))
  bad = idx_gz(np.zeros((5, 28, 28), np.uint8), 1234)
  checksums['train-images-idx3-ubyte.gz'] = server.add(
      'train-images-idx3-ubyte.gz', bad)
  with pytest.raises(DatasetError, match='expected magic number 2051'):
    mnist.run(str(tmp_path), mirror=server.url, checksums=checksums,
              num_workers=0)


def test_truncated_file_is_a_clear_error(server, tmp_path):
  _, checksums = _serve(server, np.random.default_rng(3))
  full = gzip.decompress(server.files['t10k-labels-idx1-ubyte.gz'])
  checksums['t10k-labels-idx1-ubyte.gz'] = server.add(
      't10k-labels-idx1-ubyte.gz', gzip.compress(full[:-1]))
  with pytest.raises(DatasetError, match='truncated'):
    mnist.run(str(tmp_path), mirror=server.url, checksums=checksums,
              num_workers=0)


def test_remote_dataset_dir_downloads_into_the_scratch_dir(server, tmp_path):
  # The files are downloaded (resumable) and read on the local disk; only
  # the records and labels go to the remote --dataset_dir.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  expected, checksums = _serve(server, np.random.default_rng(2))
  dataset_dir = 'ram://mnist_remote/dataset'
  scratch = tmp_path / 'scratch'
  mnist.run(dataset_dir, mirror=server.url, checksums=checksums,
            num_workers=0, scratch_dir=str(scratch))
  assert sorted(tf.io.gfile.listdir(dataset_dir)) == [
      'labels.txt', 'mnist_test.tfrecord', 'mnist_train.tfrecord']
  assert len(read_records(dataset_dir + '/mnist_train.tfrecord')) == len(
      expected['train'][0])
  assert os.listdir(scratch) == []  # The downloads are removed when done.
  assert mnist.dataset_exists(dataset_dir)


def test_scratch_dir_must_be_local():
  with pytest.raises(DatasetError, match='--scratch_dir=ram://x must be a '
                     'local folder'):
    dataset_utils.scratch_dir_for('ram://d', 'ram://x')
  assert dataset_utils.scratch_dir_for('/data/mnist') == '/data/mnist'
  assert dataset_utils.scratch_dir_for('gs://b/mnist').endswith(
      dataset_utils.SCRATCH_FOLDER_NAME)
