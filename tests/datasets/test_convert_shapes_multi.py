"""Tests of the embedded multi-label dataset shapes_multi
(datasets/convert_shapes_multi.py)."""
import collections
import os

import numpy as np
import tensorflow as tf

from datasets import convert_shapes_multi
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import registry
from datasets import shapes_generator
from datasets import tfrecord_writer
from slim.data import dataset_data_provider
from tests.datasets.archive_server import decode
from tests.datasets.archive_server import feature
from tests.datasets.archive_server import read_records

tf1 = tf.compat.v1

SIZES = {'train': 40, 'validation': 12}
CLASS_NAMES = ['circle', 'square', 'triangle', 'cross', 'diamond']


def _run(dataset_dir, seed=3):
  return convert_shapes_multi.run(str(dataset_dir), seed=seed, num_shards=2,
                                  split_sizes=SIZES, num_workers=0)


def _records(dataset_dir, meta, split):
  return [example for path in tfrecord_writer.shard_filenames(
      str(dataset_dir), 'shapes_multi', split, meta['num_shards'][split])
          for example in read_records(path)]


def _contents(dataset_dir):
  return {name: (dataset_dir / name).read_bytes()
          for name in sorted(os.listdir(dataset_dir))}


def test_layout_meta_and_label_lists(tmp_path):
  meta = _run(tmp_path)
  assert sorted(os.listdir(tmp_path)) == [
      'dataset_meta.json', 'labels.txt',
      'shapes_multi_train_00000-of-00002.tfrecord',
      'shapes_multi_train_00001-of-00002.tfrecord',
      'shapes_multi_validation_00000-of-00001.tfrecord']
  assert dataset_utils.read_label_file(str(tmp_path)) == dict(
      enumerate(CLASS_NAMES))
  assert dataset_utils.read_dataset_meta(str(tmp_path)) == meta
  assert meta['multi_label'] is True and meta['num_classes'] == 5
  assert meta['splits'] == SIZES
  for split, size in SIZES.items():
    examples = _records(tmp_path, meta, split)
    assert len(examples) == size
    label_lists = [feature(e, 'image/class/label') for e in examples]
    for example, labels in zip(examples, label_lists):
      assert 1 <= len(labels) <= 3
      assert labels == sorted(set(labels))
      assert [t.decode() for t in feature(example, 'image/class/text')] == [
          CLASS_NAMES[i] for i in labels]
      assert decode(example).shape == (32, 32, 3)
    assert meta['label_counts'][split] == [
        sum(class_id in labels for labels in label_lists)
        for class_id in range(5)]
    if split == 'train':  # 40 draws: one, two and three shapes all occur.
      assert set(collections.Counter(map(len, label_lists))) == {1, 2, 3}


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
  _run(tmp_path / 'a')
  _run(tmp_path / 'b')
  _run(tmp_path / 'c', seed=4)
  first = _contents(tmp_path / 'a')
  assert first == _contents(tmp_path / 'b')
  other = _contents(tmp_path / 'c')
  assert other['labels.txt'] == first['labels.txt']
  assert all(other[name] != first[name] for name in first
             if name.endswith('.tfrecord'))


def test_each_shape_gets_its_own_quarter():
  rng = np.random.default_rng(0)
  for _ in range(20):
    class_ids = shapes_generator.draw_label_set(rng)
    image = shapes_generator.draw_multi(rng, class_ids).astype(float)
    # A quarter with a shape holds colours far from its background: its
    # pixels spread more than noise alone (stddev 12) makes them.
    spread = sorted(image[top:top + 16, left:left + 16].std(axis=(0, 1)).max()
                    for top in (0, 16) for left in (0, 16))
    shown = sum(value > 25 for value in spread)
    assert shown == len(class_ids), (class_ids, spread)


def test_registry_and_descriptor_read_it_back(tmp_path):
  record = registry.get_record('shapes_multi')
  assert record.converter() is convert_shapes_multi
  meta = _run(tmp_path)
  descriptor = dataset_factory.get_descriptor('shapes_multi')
  assert descriptor.num_classes == 5 and descriptor.is_multi_label()
  examples = _records(tmp_path, meta, 'validation')
  expected = [feature(e, 'image/class/label') for e in examples]
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('shapes_multi', 'validation',
                                          str(tmp_path))
    assert dataset.num_samples == SIZES['validation'] and dataset.multi_label
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_epochs=1)
    (labels,) = provider.get(['label'])
    with tf1.Session() as sess:
      read = [sess.run(labels).tolist() for _ in range(len(expected))]
  assert read == expected
