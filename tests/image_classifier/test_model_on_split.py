"""model_on_split: a network on a split's batches, from typed records.

On the tiny shapes data (5 classes, 32x32) with CifarNet: the evaluation
reading counts every example once with its record key, the training reading
is the input graph training builds by hand (same fingerprint), the network
is applied once and reuses its variables where asked (through a custom
getter too), and labels_offset shifts labels and class count together.
"""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

import slim
from image_classifier import cli
from image_classifier import inputs
from image_classifier import model_on_split
from image_classifier import specs
from preprocessing import augment
from preprocessing import preprocessing_factory
from tests import cli_harness as h
from tests import graph_fingerprint

tf1 = tf.compat.v1

NUM_VALIDATION = 12
DATA = dict(dataset_name='shapes', split_name='validation')
MODEL = specs.ModelSpec('cifarnet', preprocessing_name='lenet')
INPUT = specs.InputSpec(batch_size=5, num_preprocessing_threads=1,
                        num_readers=1)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=16,
                       validation=NUM_VALIDATION)


def _run_all(fetches):
  """Every value of `fetches` until the input ends."""
  results = []
  with tf1.Session() as sess:
    sess.run(tf1.global_variables_initializer())
    while True:
      try:
        results.append(sess.run(fetches))
      except tf.errors.OutOfRangeError:
        return results


def test_eval_reading_counts_every_example_once_with_its_key(data):
  with tf.Graph().as_default():
    built = model_on_split.build(
        specs.DataSpec(dataset_dir=data, **DATA), MODEL, INPUT,
        is_training=False, reading=model_on_split.Reading(with_keys=True))
    assert built.num_classes == h.NUM_CLASSES
    assert built.image_size == 32
    assert built.logits.shape.as_list() == [None, h.NUM_CLASSES]
    batches = _run_all((built.labels, built.keys, built.logits))
  keys = np.concatenate([keys for _, keys, _ in batches])
  assert [len(labels) for labels, _, _ in batches] == [5, 5, 2]
  assert len(set(keys)) == NUM_VALIDATION


def test_labels_offset_shifts_labels_and_class_count(data):
  labels = {}
  for offset in (0, 1):
    with tf.Graph().as_default():
      built = model_on_split.build(
          specs.DataSpec(dataset_dir=data, labels_offset=offset, **DATA),
          MODEL, INPUT, is_training=False)
      assert built.num_classes == h.NUM_CLASSES - offset
      assert built.logits.shape.as_list() == [None, h.NUM_CLASSES - offset]
      labels[offset] = np.concatenate(_run_all(built.labels))
  np.testing.assert_array_equal(labels[1], labels[0] - 1)


def test_training_reading_is_the_input_graph_training_builds(data):
  """The builder's training input equals the hand-wired one of
  train_image_classifier.py (provider, batched, repeat), op for op."""
  augmentation = augment.AugmentParams(random_erasing=0.5)
  data_spec = specs.DataSpec('shapes', data, 'train')
  with tf.Graph().as_default() as graph:
    built = model_on_split.build(
        data_spec, MODEL, INPUT, is_training=True,
        reading=dataclasses.replace(model_on_split.TRAINING, seed=3,
                                    augmentation=augmentation))
  built_def = graph.as_graph_def()
  assert built.images is None and built.logits is None
  assert built.batches.element_spec[0].shape.as_list() == [5, 32, 32, 3]
  with tf.Graph().as_default() as graph:
    dataset = model_on_split.open_split(data_spec)
    bad_records = inputs.BadRecords(0)
    provider = inputs.train_provider(dataset, 1, 5, seed=3,
                                     bad_records=bad_records)
    inputs.batched(
        provider, preprocessing_factory.get_preprocessing(
            'lenet', is_training=True), 32, 5, num_threads=1,
        drop_remainder=True, augmentation=augmentation,
        num_classes=h.NUM_CLASSES, seed=3).repeat()
  assert (graph_fingerprint.fingerprint(built_def)
          == graph_fingerprint.fingerprint(graph.as_graph_def()))


def test_training_batches_and_network_feed_a_training_step(data):
  with tf.Graph().as_default():
    built = model_on_split.build(
        specs.DataSpec('shapes', data, 'train'), MODEL, INPUT,
        is_training=True, reading=dataclasses.replace(model_on_split.TRAINING,
                                                      seed=1),
        network_kwargs=dict(weight_decay=0.01))
    images, labels = inputs.iterator_get_next(built.batches)
    logits, _ = built.network_fn(images)
    assert slim.losses.get_regularization_losses()  # weight_decay reached.
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      for _ in range(4):  # More batches than the split holds: it repeats.
        values, classes = sess.run([logits, labels])
        assert values.shape == (5, h.NUM_CLASSES) and classes.shape == (5,)


def test_a_second_network_reuses_the_variables_through_a_getter(data):
  seen = []

  def getter(getter, *args, **kwargs):  # pylint: disable=redefined-outer-name
    variable = getter(*args, **kwargs)
    seen.append(variable.op.name)
    return variable

  data_spec = specs.DataSpec(dataset_dir=data, **DATA)
  with tf.Graph().as_default():
    images = tf.zeros([2, 32, 32, 3])
    first = model_on_split.model_parts(data_spec, MODEL, is_training=True)
    first.network_fn(images)
    count = len(tf1.global_variables())
    with tf1.name_scope('again'):
      again = model_on_split.on_split(
          model_on_split.model_parts(data_spec, MODEL, is_training=False),
          data_spec, INPUT,
          model_on_split.Reading(iterator=model_on_split.INITIALIZABLE),
          reuse=True, custom_getter=getter)
    assert len(tf1.global_variables()) == count
    assert again.logits.op.name.startswith('again/CifarNet/')
    assert sorted(set(seen)) == sorted(v.op.name
                                       for v in slim.get_model_variables())
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      for _ in range(2):  # The initializable iterator rewinds.
        sess.run(again.iterator.initializer)
        assert sess.run(again.labels).shape == (5,)


def test_unknown_names_are_user_errors(data):
  with tf.Graph().as_default():
    with pytest.raises(cli.UserError, match='nowhere'):
      model_on_split.build(
          specs.DataSpec('shapes', data, 'nowhere'), MODEL, INPUT, False)
    with pytest.raises(cli.UserError, match='--preprocessing_name'):
      model_on_split.build(
          specs.DataSpec(dataset_dir=data, **DATA),
          dataclasses.replace(MODEL, preprocessing_name='nothing'), INPUT,
          False)
    with pytest.raises(cli.UserError, match='--max_bad_records'):
      model_on_split.build(
          specs.DataSpec(dataset_dir=data, **DATA), MODEL,
          dataclasses.replace(INPUT, max_bad_records=-1), False)


def test_reading_names_its_choices():
  with pytest.raises(ValueError, match="'train' or 'eval'"):
    model_on_split.Reading(provider='test')
  with pytest.raises(ValueError, match='Reading.iterator'):
    model_on_split.Reading(iterator='reinitializable')
