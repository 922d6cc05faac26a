"""Tests of the multi-label helpers: the stratified split
(datasets/multi_label_split.py), the multi-hot vector
(datasets/multi_label.py) and how a descriptor tells and decodes
multi-label records (datasets/descriptor.py)."""
import collections
import json
import random

import numpy as np
import pytest
import tensorflow as tf

from datasets import dataset_factory
from datasets import dataset_utils
from datasets import multi_label
from datasets import multi_label_split
from slim.data import dataset_data_provider

tf1 = tf.compat.v1


def _split_counts(label_sets, rows):
  return collections.Counter(label for row in rows for label in label_sets[row])


# ------------------------------------------------------------------ split

def test_every_row_lands_in_exactly_one_split_and_the_seed_decides():
  label_sets = [(0,), (0, 1), (1,), (), (2,), (0, 2), (1, 2), (), (0,), (1,)]
  first = multi_label_split.split_rows(label_sets, 0.3, seed=4)
  assert sorted(first['train'] + first['validation']) == list(range(10))
  assert multi_label_split.split_rows(label_sets, 0.3, seed=4) == first
  others = [multi_label_split.split_rows(label_sets, 0.3, seed)
            for seed in range(5, 10)]
  assert any(other != first for other in others)


def test_every_label_with_two_rows_is_in_both_splits():
  # Label 3 has two rows, both with the common label 0; label 4 one row.
  label_sets = ([(0,)] * 12 + [(1,)] * 5 + [(0, 1)] * 3 + [(2,)] * 2
                + [(0, 3)] * 2 + [(4,)] + [()] * 4)
  for seed in range(10):
    splits = multi_label_split.split_rows(label_sets, 0.1, seed)
    train = _split_counts(label_sets, splits['train'])
    validation = _split_counts(label_sets, splits['validation'])
    for label in (0, 1, 2, 3):
      assert train[label] >= 1 and validation[label] >= 1, (seed, label)
    assert train[4] == 1 and validation[4] == 0  # A single row: train.


def test_zero_fraction_puts_everything_in_train():
  label_sets = [(0,), (0, 1), (1,), ()]
  splits = multi_label_split.split_rows(label_sets, 0.0, seed=0)
  assert splits['validation'] == [] and sorted(splits['train']) == [0, 1, 2, 3]


def test_each_label_and_the_split_follow_the_fraction_on_larger_data():
  rng = random.Random(1)
  # Label l on a row with probability 0.5 / (l + 1): frequent and rare ones.
  label_sets = [tuple(l for l in range(10) if rng.random() < 0.5 / (l + 1))
                for _ in range(800)]
  totals = _split_counts(label_sets, range(len(label_sets)))
  for fraction in (0.1, 0.25):
    splits = multi_label_split.split_rows(label_sets, fraction, seed=2)
    validation = _split_counts(label_sets, splits['validation'])
    # The labels' shares are what is kept; the rows' share follows them
    # within a few percent.
    target = 800 * fraction
    assert abs(len(splits['validation']) - target) <= 0.08 * target
    for label, total in totals.items():
      assert abs(validation[label] - total * fraction) <= 1.5, label


def test_validation_quota():
  assert [multi_label_split.validation_quota(n, 0.1) for n in range(6)] == [
      0, 0, 1, 1, 1, 1]
  assert multi_label_split.validation_quota(40, 0.1) == 4
  assert multi_label_split.validation_quota(3, 0.9) == 2  # Train keeps one.
  assert multi_label_split.validation_quota(40, 0.0) == 0


# -------------------------------------------------------------- multi-hot

def test_multi_hot():
  with tf.Graph().as_default():
    labels = tf1.placeholder(tf.int64, [None])
    vector = multi_label.multi_hot(labels, 4)
    shifted = multi_label.multi_hot(labels, 3, labels_offset=1,
                                    dtype=tf.int32)
    assert vector.shape.as_list() == [4] and vector.dtype == tf.float32
    with tf1.Session() as sess:
      def run(ids):
        return [values.tolist() for values in sess.run(
            [vector, shifted], {labels: np.array(ids, np.int64)})]
      assert run([1, 3]) == [[0, 1, 0, 1], [1, 0, 1]]
      assert run([]) == [[0, 0, 0, 0], [0, 0, 0]]
      assert run([2, 2, 0]) == [[1, 0, 1, 0], [0, 1, 0]]  # 0 - 1 dropped.
  with pytest.raises(ValueError, match=r'1-D tensor of class ids'):
    multi_label.multi_hot(tf.constant([[1, 2]]), 4)


# ------------------------------------------------------------- descriptor

def _write_dataset(directory, label_lists, multi_label_meta):
  meta = {'num_classes': 4, 'splits': {'train': len(label_lists)},
          'file_pattern': 'custom_%s_*.tfrecord'}
  if multi_label_meta is not None:
    meta['multi_label'] = multi_label_meta
  (directory / 'dataset_meta.json').write_text(json.dumps(meta))
  path = str(directory / 'custom_train_00000-of-00001.tfrecord')
  image = tf.io.encode_png(np.zeros((2, 2, 3), np.uint8)).numpy()
  with tf.io.TFRecordWriter(path) as writer:
    for labels in label_lists:
      example = dataset_utils.multi_label_image_to_tfexample(
          image, b'png', 2, 2, labels, ['c%d' % i for i in labels])
      writer.write(example.SerializeToString())


def _read_labels(dataset):
  with tf.Graph().as_default():
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_epochs=1)
    (labels,) = provider.get(['label'])
    with tf1.Session() as sess:
      return [sess.run(labels).tolist() for _ in range(dataset.num_samples)]


def test_custom_descriptor_reads_multi_label_from_the_meta(tmp_path):
  label_lists = [[0, 2], [], [3], [0, 1, 2, 3]]
  _write_dataset(tmp_path, label_lists, True)
  descriptor = dataset_factory.get_descriptor('custom')
  assert descriptor.is_multi_label(str(tmp_path))
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('custom', 'train', str(tmp_path))
  assert dataset.multi_label is True
  assert _read_labels(dataset) == label_lists


def test_single_label_datasets_say_so(tmp_path):
  _write_dataset(tmp_path, [[1]], None)
  assert not dataset_factory.get_descriptor('custom').is_multi_label(
      str(tmp_path))
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('custom', 'train', str(tmp_path))
  assert dataset.multi_label is False
  assert _read_labels(dataset) == [1]  # A scalar, as before.
  assert not dataset_factory.get_descriptor('flowers').is_multi_label()
  assert dataset_factory.get_descriptor('shapes_multi').is_multi_label()


def test_is_multi_label_errors(tmp_path):
  descriptor = dataset_factory.get_descriptor('custom')
  with pytest.raises(ValueError, match=r'dataset_dir is required to tell '
                     r'whether the custom dataset is multi-label'):
    descriptor.is_multi_label()
  _write_dataset(tmp_path, [[1]], 'yes')
  with pytest.raises(ValueError, match=r'not a valid dataset meta file .*'
                     r'"multi_label" must be true or false'):
    descriptor.is_multi_label(str(tmp_path))
