"""Tests of the Flowers converter on a tiny archive in the real format."""
import math
import os
import random

import numpy as np
import pytest

from datasets import dataset_utils
from datasets import download_and_convert_flowers as flowers
from datasets.errors import DatasetError
from tests.datasets.archive_server import encode
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import path_max_escape_members
from tests.datasets.archive_server import random_image
from tests.datasets.archive_server import read_records
from tests.datasets.archive_server import server  # pylint: disable=unused-import
from tests.datasets.archive_server import tar_bytes

CLASSES = ['daisy', 'roses', 'tulips']  # Written unsorted below.
NUM_VALIDATION = 3


def _photos():
  rng = np.random.default_rng(0)
  photos = {}
  for class_name in ('tulips', 'daisy', 'roses'):
    for i in range(3):
      shape = (8 + i, 10 + 2 * i)
      photos['flower_photos/%s/img_%d.jpg' % (class_name, i)] = encode(
          random_image(rng, *shape), 'JPEG')
  return photos


def _serve(server, entries):
  entries = dict(entries, **{'flower_photos/LICENSE.txt': b'CC-BY'})
  return server.add('flower_photos.tgz', tar_bytes(entries))


def test_converts_like_the_original(server, tmp_path):
  photos = _photos()
  checksum = _serve(server, photos)
  flowers.run(str(tmp_path), mirror=server.url, sha256=checksum,
              num_validation=NUM_VALIDATION, num_workers=0)

  # The expected split, computed independently: sorted names, seed 0.
  names = sorted(photos)
  random.seed(0)
  random.shuffle(names)
  expected = {'validation': names[:NUM_VALIDATION],
              'train': names[NUM_VALIDATION:]}
  assert dataset_utils.read_label_file(str(tmp_path)) == dict(
      enumerate(CLASSES))
  for split, split_names in expected.items():
    per_shard = math.ceil(len(split_names) / 5)
    for shard in range(5):
      path = tmp_path / ('flowers_%s_%05d-of-00005.tfrecord' % (split, shard))
      examples = read_records(str(path))
      shard_names = split_names[shard * per_shard:(shard + 1) * per_shard]
      assert len(examples) == len(shard_names)
      for example, name in zip(examples, shard_names):
        assert feature(example, 'image/encoded') == [photos[name]]
        assert feature(example, 'image/format') == [b'jpg']
        assert feature(example, 'image/class/label') == [
            CLASSES.index(name.split('/')[1])]
        index = int(name[-5])
        assert feature(example, 'image/height') == [8 + index]
        assert feature(example, 'image/width') == [10 + 2 * index]
  # The archive and the extracted photos are cleaned up.
  assert sorted(os.listdir(tmp_path)) == sorted(
      ['labels.txt'] + ['flowers_%s_%05d-of-00005.tfrecord' % (s, i)
                        for s in ('train', 'validation') for i in range(5)])


def test_rerun_of_a_finished_conversion_does_nothing(server, tmp_path):
  checksum = _serve(server, _photos())
  flowers.run(str(tmp_path), mirror=server.url, sha256=checksum,
              num_validation=NUM_VALIDATION, num_workers=0)
  before = {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)}
  requests = len(server.requests)
  flowers.run(str(tmp_path), mirror=server.url, sha256=checksum,
              num_validation=NUM_VALIDATION, num_workers=0)
  assert len(server.requests) == requests  # Nothing downloaded.
  assert {n: (tmp_path / n).read_bytes() for n in os.listdir(tmp_path)} == (
      before)


def test_missing_labels_file_means_not_finished(server, tmp_path):
  checksum = _serve(server, _photos())
  flowers.run(str(tmp_path), mirror=server.url, sha256=checksum,
              num_validation=NUM_VALIDATION, num_workers=0)
  os.remove(tmp_path / 'labels.txt')  # As if the run died before the end.
  assert not flowers.dataset_exists(str(tmp_path))
  flowers.run(str(tmp_path), mirror=server.url, sha256=checksum,
              num_validation=NUM_VALIDATION, num_workers=0)
  assert flowers.dataset_exists(str(tmp_path))


@pytest.mark.parametrize('evil_name', ['../escaped.jpg', None])
def test_unsafe_archive_is_refused(server, tmp_path, evil_name):
  target = tmp_path / 'out'
  outside = tmp_path / 'escaped.jpg'
  evil_name = evil_name or str(outside)  # None: an absolute path.
  checksum = _serve(server, dict(_photos(), **{evil_name: b'pwned'}))
  with pytest.raises(DatasetError, match='refusing to extract'):
    flowers.run(str(target), mirror=server.url, sha256=checksum,
                num_validation=NUM_VALIDATION, num_workers=0)
  assert not outside.exists()
  assert os.listdir(target) == ['flower_photos.tgz']  # Nothing extracted.


def test_unverified_path_max_symlink_chain_is_refused(server, tmp_path):
  """--noverify_checksums with the CVE-2025-4517 tarball: its links would
  write pwned.jpg two levels above the staging folder, beside --dataset_dir."""
  server.add('flower_photos.tgz', tar_bytes(
      list(_photos().items()) +
      path_max_escape_members(climb=2, payload_name='pwned.jpg')))
  target = tmp_path / 'out'
  with pytest.raises(DatasetError) as info:
    flowers.run(str(target), mirror=server.url, verify_checksums=False,
                num_validation=NUM_VALIDATION, num_workers=0)
  assert 'goes through the symbolic link' in str(info.value)
  assert os.listdir(tmp_path) == ['out']
  assert os.listdir(target) == ['flower_photos.tgz']  # Nothing extracted.


def test_checksum_mismatch_stops_before_conversion(server, tmp_path):
  _serve(server, _photos())
  with pytest.raises(DatasetError, match='checksum mismatch'):
    flowers.run(str(tmp_path), mirror=server.url, num_workers=0)
  assert os.listdir(tmp_path) == []
