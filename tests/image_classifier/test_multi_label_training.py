"""Multi-label training stages: multi-hot batches, mixup of them, the
sigmoid cross-entropy of a clone, best checkpoints ranked by mAP."""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf

import slim
from datasets import convert_shapes_multi
from image_classifier import best_checkpoints
from image_classifier import model_on_split
from image_classifier import specs
from image_classifier import training
from preprocessing import augment

tf1 = tf.compat.v1

NUM_CLASSES = 5  # shapes_multi: circle, square, triangle, cross, diamond.
BATCH = 4


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('shapes_multi'))
  convert_shapes_multi.run(directory, seed=0, num_shards=1, num_workers=0,
                           split_sizes={'train': 8, 'validation': 10})
  return directory


def _record_label_lists(data, split):
  """Each record's label list, read straight from the files in order."""
  files = sorted(glob.glob(os.path.join(data, f'shapes_multi_{split}_*')))
  labels = []
  for record in tf.data.TFRecordDataset(files):
    example = tf.train.Example.FromString(record.numpy())
    labels.append(list(
        example.features.feature['image/class/label'].int64_list.value))
  return labels


def _batches(data, labels_offset=0, augmentation=None):
  """(images, labels) of every batch of the validation split, in order."""
  with tf.Graph().as_default():
    parts = model_on_split.model_parts(
        specs.DataSpec('shapes_multi', data, 'validation', labels_offset),
        specs.ModelSpec('cifarnet', 'lenet'), is_training=False)
    split = model_on_split.split_batches(
        parts.dataset, specs.InputSpec(batch_size=BATCH,
                                       num_preprocessing_threads=1),
        parts.preprocessing_fn, parts.image_size,
        model_on_split.Reading(augmentation=augmentation, seed=3),
        labels_offset, parts.num_classes)
    next_batch = tf1.data.make_one_shot_iterator(split.batches).get_next()
    batches = []
    with tf1.Session() as sess:
      while True:
        try:
          batches.append(sess.run(next_batch))
        except tf.errors.OutOfRangeError:
          return batches


@pytest.mark.parametrize('labels_offset', [0, 1])
def test_labels_become_multi_hot_vectors_before_batching(data, labels_offset):
  batches = _batches(data, labels_offset)
  labels = np.concatenate([b[1] for b in batches])
  expected = np.zeros((10, NUM_CLASSES - labels_offset), np.float32)
  for row, ids in enumerate(_record_label_lists(data, 'validation')):
    assert ids  # shapes_multi shows 1 to 3 shapes.
    for class_id in ids:
      if class_id - labels_offset >= 0:  # Offset below 0: dropped.
        expected[row, class_id - labels_offset] = 1
  assert [len(b[1]) for b in batches] == [4, 4, 2]
  assert labels.dtype == np.float32
  np.testing.assert_array_equal(labels, expected)


def test_mixup_mixes_the_multi_hot_targets(data):
  plain = _batches(data)
  mixed = _batches(data, augmentation=augment.AugmentParams(mixup_alpha=1.0))
  lams = []
  for (images, labels), (mixed_images, mixed_labels) in zip(plain, mixed):
    own, other = images, images[::-1]
    # mixup: lam * own + (1 - lam) * the batch reversed; solve for lam.
    difference = (own - other).ravel()
    lam = np.dot((mixed_images - other).ravel(), difference) / np.dot(
        difference, difference)
    np.testing.assert_allclose(mixed_images, lam * own + (1 - lam) * other,
                               atol=1e-4)
    np.testing.assert_allclose(
        mixed_labels, lam * labels + (1 - lam) * labels[::-1], atol=1e-4)
    lams.append(lam)
  assert max(abs(lam - 1) for lam in lams) > 0.01  # Mixed, not copied.


def _sigmoid_cross_entropy(logits, targets):
  """Per element, in float64: -(t log s(x) + (1 - t) log(1 - s(x)))."""
  logits = logits.astype(np.float64)
  probability = 1 / (1 + np.exp(-logits))
  return -(targets * np.log(probability)
           + (1 - targets) * np.log(1 - probability))


def test_clone_loss_is_the_sigmoid_cross_entropy_of_the_multi_hot_targets():
  targets = np.array([[1, 0, 1, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 0, 1],
                      [0, 1, 0, 0, 0]], np.float32)
  images = np.random.RandomState(0).uniform(
      size=(BATCH, 6, 6, 3)).astype(np.float32)
  smoothing = 0.1

  def network_fn(images):
    net = slim.flatten(images)
    logits = slim.fully_connected(net, NUM_CLASSES, activation_fn=None,
                                  scope='logits')
    aux = slim.fully_connected(net, NUM_CLASSES, activation_fn=None,
                               scope='aux')
    return logits, {'AuxLogits': aux, 'Logits': logits}

  with tf.Graph().as_default():
    batches = tf.data.Dataset.from_tensors((images, targets)).repeat()
    end_points = training.clone_fn(batches, network_fn, NUM_CLASSES,
                                   smoothing, multi_label=True)
    losses = {loss.op.name: loss
              for loss in tf1.get_collection(tf1.GraphKeys.LOSSES)}
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      values, logits, aux = sess.run([losses, end_points['Logits'],
                                      end_points['AuxLogits']])
  assert sorted(values) == ['aux_loss/value',
                            'sigmoid_cross_entropy_loss/value']
  smoothed = targets * (1 - smoothing) + 0.5 * smoothing
  # The mean over every (example, class); the aux loss weighs 0.4.
  np.testing.assert_allclose(
      values['sigmoid_cross_entropy_loss/value'],
      np.mean(_sigmoid_cross_entropy(logits, smoothed)), rtol=1e-5)
  np.testing.assert_allclose(
      values['aux_loss/value'],
      0.4 * np.mean(_sigmoid_cross_entropy(aux, smoothed)), rtol=1e-5)


def _fake_checkpoint(directory, step):
  prefix = os.path.join(directory, f'model.ckpt-{step}')
  for suffix in ('.index', '.data-00000-of-00001'):
    with open(prefix + suffix, 'w') as f:
      f.write(str(step))
  return prefix


def test_best_checkpoints_rank_by_map_undefined_last(tmp_path):
  best = best_checkpoints.BestCheckpoints(str(tmp_path / 'best'), keep=2,
                                          metric='mAP')
  # Accuracy is absent from multi-label records; mAP None is undefined.
  maps = {1: None, 2: 0.6, 3: 0.9, 4: 0.6, 5: 0.2}
  for step, value in maps.items():
    best.consider(_fake_checkpoint(str(tmp_path), step),
                  {'global_step': step, 'mAP': value, 'F1_micro': 0.0})
  with open(tmp_path / 'best' / 'index.json') as f:
    index = json.load(f)
  assert index['metric'] == 'mAP'
  assert [e['name'] for e in index['checkpoints']] == [
      'model.ckpt-3', 'model.ckpt-4']
