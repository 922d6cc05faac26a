"""Tests of the CIFAR-10 converter on a tiny archive in the binary format."""
import os

import numpy as np

from datasets import dataset_utils
from datasets import download_and_convert_cifar10 as cifar10
from tests.datasets.archive_server import decode
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import read_records
from tests.datasets.archive_server import server  # pylint: disable=unused-import
from tests.datasets.archive_server import tar_bytes

CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
               'horse', 'ship', 'truck']  # compat/dataset_sources.md


def _batch(rng, count):
  """Returns (bytes in the binary format, images HxWx3, labels)."""
  images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
  labels = rng.integers(0, 10, size=count)
  records = b''.join(
      bytes([label]) + image[:, :, 0].tobytes() + image[:, :, 1].tobytes() +
      image[:, :, 2].tobytes() for image, label in zip(images, labels))
  return records, list(images), list(labels)


def test_records_decode_to_the_source_pixels_and_labels(server, tmp_path):
  rng = np.random.default_rng(0)
  entries = {'cifar-10-batches-bin/batches.meta.txt':
                 '\n'.join(CLASS_NAMES).encode()}
  expected = {'train': ([], []), 'test': ([], [])}
  for i in range(1, 6):
    data, images, labels = _batch(rng, 2)
    entries['cifar-10-batches-bin/data_batch_%d.bin' % i] = data
    expected['train'][0].extend(images)
    expected['train'][1].extend(labels)
  data, images, labels = _batch(rng, 3)
  entries['cifar-10-batches-bin/test_batch.bin'] = data
  expected['test'] = (images, labels)
  checksum = server.add('cifar-10-binary.tar.gz', tar_bytes(entries))

  cifar10.run(str(tmp_path), mirror=server.url, sha256=checksum,
              num_workers=0)
  assert sorted(os.listdir(tmp_path)) == [
      'cifar10_test.tfrecord', 'cifar10_train.tfrecord', 'labels.txt']
  assert dataset_utils.read_label_file(str(tmp_path)) == dict(
      enumerate(CLASS_NAMES))
  for split, (images, labels) in expected.items():
    examples = read_records(str(tmp_path / ('cifar10_%s.tfrecord' % split)))
    assert len(examples) == len(images)
    for example, image, label in zip(examples, images, labels):
      np.testing.assert_array_equal(decode(example), image)
      assert feature(example, 'image/class/label') == [label]
      assert feature(example, 'image/format') == [b'png']
      assert feature(example, 'image/height') == [32]
      assert feature(example, 'image/width') == [32]

  requests = len(server.requests)
  cifar10.run(str(tmp_path), mirror=server.url, sha256=checksum)
  assert len(server.requests) == requests  # Finished: not redone.


def test_converter_never_unpickles():
  with open(cifar10.__file__) as f:
    source = f.read()
  assert 'pickle' not in source.replace('unpickle', '')
