"""Tests of datasets/dataset_utils.py (the tf-slim dataset_utils API)."""
import os

import pytest
import tensorflow as tf

from datasets import dataset_utils
from tests.datasets.archive_server import server  # pylint: disable=unused-import
from tests.datasets.archive_server import tar_bytes


@pytest.mark.parametrize('values, expected', [
    (7, [7]), ([1, -2, 3], [1, -2, 3]), ((4, 5), [4, 5]), ([], [])])
def test_int64_feature(values, expected):
  assert dataset_utils.int64_feature(values).int64_list.value == expected


@pytest.mark.parametrize('values, expected', [
    (b'ab', [b'ab']), ('text', [b'text']), ([b'a', 'b'], [b'a', b'b'])])
def test_bytes_feature(values, expected):
  assert dataset_utils.bytes_feature(values).bytes_list.value == expected


def test_float_feature_scalars_and_lists():
  assert dataset_utils.float_feature(0.5).float_list.value == [0.5]
  assert dataset_utils.float_feature([0.25, 1.0]).float_list.value == [0.25,
                                                                      1.0]
  assert dataset_utils.float_list_feature([]).float_list.value == []
  assert dataset_utils.bytes_list_feature([b'x']).bytes_list.value == [b'x']


def test_image_to_tfexample_parses_back():
  example = dataset_utils.image_to_tfexample(b'\x89PNG...', b'png', 3, 5, 4)
  parsed = tf.io.parse_single_example(example.SerializeToString(), {
      'image/encoded': tf.io.FixedLenFeature((), tf.string),
      'image/format': tf.io.FixedLenFeature((), tf.string),
      'image/class/label': tf.io.FixedLenFeature((), tf.int64),
      'image/height': tf.io.FixedLenFeature((), tf.int64),
      'image/width': tf.io.FixedLenFeature((), tf.int64),
  })
  assert parsed['image/encoded'].numpy() == b'\x89PNG...'
  assert parsed['image/format'].numpy() == b'png'
  assert (parsed['image/class/label'].numpy(), parsed['image/height'].numpy(),
          parsed['image/width'].numpy()) == (4, 3, 5)
  assert set(example.features.feature) == {
      'image/encoded', 'image/format', 'image/class/label', 'image/height',
      'image/width'}


def test_label_file_round_trip(tmp_path):
  labels = {0: 'daisy', 1: 'a:b', 7: 'with space'}
  assert not dataset_utils.has_labels(str(tmp_path))
  dataset_utils.write_label_file(labels, str(tmp_path))
  assert dataset_utils.has_labels(str(tmp_path))
  assert (tmp_path / 'labels.txt').read_text() == (
      '0:daisy\n1:a:b\n7:with space\n')
  assert dataset_utils.read_label_file(str(tmp_path)) == labels
  assert os.listdir(tmp_path) == ['labels.txt']  # No temporary left.


def test_label_file_custom_name(tmp_path):
  dataset_utils.write_label_file({3: 'x'}, str(tmp_path), filename='l.txt')
  assert dataset_utils.has_labels(str(tmp_path), 'l.txt')
  assert dataset_utils.read_label_file(str(tmp_path), 'l.txt') == {3: 'x'}


def test_dataset_meta_round_trip(tmp_path):
  assert dataset_utils.read_dataset_meta(str(tmp_path)) is None
  meta = {'num_classes': 2, 'splits': {'train': 3, 'validation': 1},
          'file_pattern': 'custom_%s_*.tfrecord'}
  dataset_utils.write_dataset_meta(meta, str(tmp_path))
  assert dataset_utils.read_dataset_meta(str(tmp_path)) == meta
  (tmp_path / 'dataset_meta.json').write_text('{not json')
  assert dataset_utils.read_dataset_meta(str(tmp_path)) is None


def test_download_and_uncompress_tarball(server, tmp_path):
  checksum = server.add('data.tar.gz', tar_bytes({'d/x.txt': b'hello'}))
  dataset_utils.download_and_uncompress_tarball(
      'http://example.invalid/data.tar.gz', str(tmp_path), sha256=checksum,
      mirror=server.url)
  assert (tmp_path / 'd' / 'x.txt').read_bytes() == b'hello'
