"""Augmentation through inputs.batched and train_image_classifier.py.

On the tiny shapes data: every preprocessing family takes the per-image
augmentations, a seed makes the batches reproducible, mixed labels sum to 1
and reach the loss as soft labels (checked against a numpy cross-entropy
with label smoothing), and with every flag off training is exactly what it
was before augmentation existed (same loss trace, same ops).

Without a seed the shuffling training provider reads and decodes in
parallel without keeping order (deterministic=False), the fast default, so
batches differ between two runs; with a seed the pipeline keeps its order
(tests/test_train_image_classifier.py trains twice, bit for bit). The
reproducibility checks here read the records in file order
(`_ordered_provider`) to see the augmentation's own determinism.
"""
import collections
import os

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from datasets import dataset_factory
from image_classifier import cli
from image_classifier import inputs
from preprocessing import augment
from preprocessing import preprocessing_factory
from slim.data import dataset_data_provider
from tests import cli_harness as h

tf1 = tf.compat.v1

train_image_classifier = h.script_module('train_image_classifier')

ALL_ON = dict(randaugment_layers=2, randaugment_magnitude=12,
              random_erasing=0.5, mixup_alpha=0.4, cutmix_alpha=1.0)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=24,
                       validation=8)


def _ordered_provider(dataset, num_readers, batch_size, seed=None,
                      bad_records=None):
  """inputs.train_provider's signature; records endlessly in file order."""
  del num_readers, batch_size, seed, bad_records  # Unused.
  return dataset_data_provider.DatasetDataProvider(dataset, shuffle=False)


def _batches(data, params, seed, family='lenet', image_size=32, count=2,
             batch_size=4, num_threads=2):
  """The first `count` (images, labels) training batches, in a fresh graph."""
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('shapes', 'train', data)
    provider = _ordered_provider(dataset, 1, batch_size)
    batches = inputs.batched(
        provider, preprocessing_factory.get_preprocessing(
            family, is_training=True), image_size, batch_size,
        num_threads=num_threads, augmentation=params,
        num_classes=dataset.num_classes, seed=seed)
    next_batch = inputs.iterator_get_next(batches)
    with tf1.Session() as sess:
      return [sess.run(next_batch) for _ in range(count)]


# ---------------------------------------------------------------- pipeline
@pytest.mark.parametrize('family', ['inception', 'vgg', 'cifarnet', 'lenet'])
def test_every_family_takes_the_per_image_augmentations(data, family):
  params = augment.AugmentParams(randaugment_layers=2, random_erasing=1.0)
  images, labels = _batches(data, params, seed=1, family=family,
                            image_size=24, count=1)[0]
  assert images.shape == (4, 24, 24, 3) and images.dtype == np.float32
  assert np.isfinite(images).all()
  assert labels.shape == (4,) and labels.dtype == np.int64


def test_a_seed_makes_batches_reproducible(data):
  params = augment.AugmentParams(**ALL_ON)
  first = _batches(data, params, seed=5)
  again = _batches(data, params, seed=5)
  other = _batches(data, params, seed=6)
  for (images, labels), (images2, labels2) in zip(first, again):
    np.testing.assert_array_equal(images, images2)
    np.testing.assert_array_equal(labels, labels2)
  assert not np.array_equal(first[0][0], other[0][0])
  for images, labels in first + other:
    assert images.shape == (4, 32, 32, 3)
    assert labels.shape == (4, h.NUM_CLASSES) and labels.dtype == np.float32
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)
    assert labels.min() >= 0


def test_without_a_seed_augmentation_differs_between_runs(data):
  params = augment.AugmentParams(randaugment_layers=2)
  first = _batches(data, params, seed=None, count=1)[0][0]
  second = _batches(data, params, seed=None, count=1)[0][0]
  assert not np.array_equal(first, second)


def test_mixing_without_num_classes_is_an_error(data):
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('shapes', 'train', data)
    provider = inputs.train_provider(dataset, 1, 4)
    with pytest.raises(ValueError, match='num_classes'):
      inputs.batched(provider, lambda image, *_: image, 32, 4,
                     augmentation=augment.AugmentParams(mixup_alpha=1.0))


# ------------------------------------------------------- defaults unchanged
def _batched_before_augmentation(provider, preprocessing_fn, image_size,
                                 batch_size, labels_offset=0,
                                 num_threads=None, drop_remainder=False,
                                 with_keys=False, **unused):
  """inputs.batched as it was before augmentation (commit 272ec64), with
  the pipeline options added since (no autotuning thread)."""
  def prepare(example):
    image = preprocessing_fn(example['image'], image_size, image_size)
    label = example['label'] - labels_offset
    if with_keys:
      return image, label, example['record_key']
    return image, label

  examples = provider.tf_dataset.map(
      prepare, num_parallel_calls=num_threads or tf.data.AUTOTUNE,
      deterministic=False if drop_remainder else True)
  # Without the autotuning thread, as inputs.batched since commit 95fe1d1.
  return examples.batch(batch_size, drop_remainder=drop_remainder).prefetch(
      tf.data.AUTOTUNE).with_options(inputs.PIPELINE_OPTIONS)


def _op_types(graph_def):
  ops = [node.op for node in graph_def.node]
  for function in graph_def.library.function:
    ops += [node.op for node in function.node_def]
  return collections.Counter(ops)


def _loss_trace(values, steps=3):
  with tf.Graph().as_default() as graph:
    train_tensor = train_image_classifier.build_training_graph(
        values).train_tensor
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      losses = [sess.run(train_tensor) for _ in range(steps)]
  return losses, _op_types(graph.as_graph_def())


def test_defaults_train_exactly_as_before(data, tmp_path, monkeypatch):
  # cifarnet preprocessing draws random crops and flips: the seeds of
  # those ops too must be what they were.
  values = h.train_values(data, tmp_path, preprocessing_name='cifarnet',
                          seed=3)
  monkeypatch.setattr(inputs, 'train_provider', _ordered_provider)
  now, now_ops = _loss_trace(values)
  monkeypatch.setattr(inputs, 'batched', _batched_before_augmentation)
  before, before_ops = _loss_trace(values)
  assert now == before
  assert now_ops == before_ops
  assert not {'RandomDataset', 'ImageProjectiveTransformV3'} & set(now_ops)


def _parallel_stages(values):
  """{dataset op: (deterministic attr, parallel calls)} of a training graph."""
  with tf.Graph().as_default() as graph:
    train_image_classifier.build_training_graph(values)
  nodes = {node.name: node for node in graph.as_graph_def().node}
  stages = {}
  for node in nodes.values():
    if node.op.startswith(('ParallelMap', 'ParallelInterleave')):
      calls = nodes[node.input[-1]].attr['value'].tensor.int64_val[0]
      stages[node.name] = (node.attr['deterministic'].s, calls)
  return stages


def test_only_a_seed_keeps_the_parallel_stages_in_order(data, tmp_path):
  # cifarnet preprocessing draws with stateful random ops: with a seed its
  # map runs one call at a time (parallel calls would share the generator).
  values = h.train_values(data, tmp_path, preprocessing_name='cifarnet',
                          num_readers=2, num_preprocessing_threads=4)
  assert _parallel_stages(values) == {
      'dataset_data_provider/ParallelInterleaveDatasetV4': (b'false', 2),
      'dataset_data_provider/ParallelMapDatasetV2': (b'false', -1),
      'ParallelMapDatasetV2': (b'false', 4)}
  values.seed = 3
  assert _parallel_stages(values) == {
      'dataset_data_provider/ParallelInterleaveDatasetV4': (b'true', 2),
      'dataset_data_provider/ParallelMapDatasetV2': (b'true', -1),
      'ParallelMapDatasetV2': (b'true', 1)}
  # lenet preprocessing draws nothing: its map stays parallel.
  values.preprocessing_name = 'lenet'
  assert _parallel_stages(values)['ParallelMapDatasetV2'] == (b'true', 4)


# ------------------------------------------------------------- training
def test_training_takes_mixed_soft_labels_with_label_smoothing(data,
                                                                tmp_path):
  values = h.train_values(data, tmp_path / 'train', label_smoothing=0.1,
                          seed=2, summarize_images=True, **ALL_ON)
  with tf.Graph().as_default() as graph:
    train_image_classifier.build_training_graph(values)
    fetch = [graph.get_tensor_by_name(name) for name in (
        'CifarNet/logits/BiasAdd:0', 'IteratorGetNext:1', 'clone_loss:0')]
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      logits, labels, loss = sess.run(fetch)
  np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)
  smoothed = labels * 0.9 + 0.1 / h.NUM_CLASSES
  logits = logits.astype(np.float64)
  log_softmax = logits - logits.max(axis=1, keepdims=True)
  log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
  expected = -np.mean(np.sum(smoothed * log_softmax, axis=1))
  assert loss == pytest.approx(expected, rel=1e-5)

  final = train_image_classifier.train(values)
  assert np.isfinite(final)
  assert h.checkpoint_step(tmp_path / 'train') == 2


def test_bad_augmentation_flag_is_a_one_line_user_error(data, tmp_path):
  values = h.train_values(data, tmp_path, random_erasing=1.5)
  with pytest.raises(cli.UserError) as info:
    train_image_classifier.train(values)
  assert str(info.value) == ('--random_erasing must be a probability '
                             'between 0 and 1; received 1.5.')


# ------------------------------------------------------------ dump_images
def test_dump_images_writes_the_augmented_images(data, tmp_path):
  dump_images = h.script_module('tools.dump_images')
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('shapes', 'train', data)
    (tmp_path / 'plain').mkdir()
    (tmp_path / 'mixed').mkdir()
    plain = dump_images.dump_images(dataset, 4, str(tmp_path / 'plain'))
    params = augment.AugmentParams(randaugment_layers=2, cutmix_alpha=1.0)
    mixed = dump_images.dump_images(dataset, 4, str(tmp_path / 'mixed'),
                                    params, seed=1)
    again = dump_images.dump_images(dataset, 4, str(tmp_path / 'mixed'),
                                    params, seed=1)
  assert len(plain) == len(mixed) == 4 and mixed == again
  names = ['circle', 'square', 'triangle', 'cross', 'diamond']
  for path in mixed:
    parts = os.path.basename(path)[6:-4].split('_')
    weights = [float(part.lstrip('abcdefghijklmnopqrstuvwxyz'))
               for part in parts]
    assert all(part.rstrip('0123456789.') in names for part in parts)
    assert sum(weights) == pytest.approx(1.0, abs=0.01 * len(parts))
    assert np.asarray(Image.open(path)).shape == (32, 32, 3)
  assert any(not np.array_equal(np.asarray(Image.open(p)),
                                np.asarray(Image.open(m)))
             for p, m in zip(plain, mixed))
