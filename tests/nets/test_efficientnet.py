"""EfficientNet B0-B7 against keras.applications, and its training graph.

Parity: B0 at full size through both Keras weight files (legacy .h5 and
.weights.h5) within 1e-4 relative (max|ours - keras| <= 1e-4 max|keras|).
B1-B7: the variable manifest (test_nets_contract.py, from the Keras twins)
plus a forward pass of each twin at a reduced input (64 x 64, and an odd
65 x 65 for B1 to check Keras' asymmetric padding), which Keras allows
for weights loaded with include_top.
"""
import os

import numpy as np
import pytest
import tensorflow as tf

from nets import efficientnet
from nets import nets_factory
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1

MEMBERS = [f'efficientnet_b{i}' for i in range(8)]
# Keras' names of the same networks.
KERAS_NAMES = {name: f'EfficientNetB{name[-1]}' for name in MEMBERS}
# The input normalisation the published files hold: ImageNet's mean and,
# as its variance, the stddev (Keras' efficientnet.py explains the extra
# Rescaling that makes up for it); the count is never read.
IMAGENET_MEAN = (0.485, 0.456, 0.406)


def _published_constants():
  # pylint: disable=g-import-not-at-top
  from keras.src.applications import efficientnet as keras_efficientnet
  stddev = keras_efficientnet.IMAGENET_STDDEV_RGB
  return {'normalization': [np.array(IMAGENET_MEAN, np.float32),
                            np.array(stddev, np.float32), np.array(0)]}


def _twin(name, tmp_path, **kwargs):
  import keras  # pylint: disable=g-import-not-at-top
  from tests.nets import keras_twins  # pylint: disable=g-import-not-at-top
  return keras_twins.make_twin(getattr(keras.applications, KERAS_NAMES[name]),
                               tmp_path, constants=_published_constants(),
                               **kwargs)


def _pixels(size, batch=1, seed=0):
  """Pixels in [0, 255], what Keras' (identity) preprocess_input gives."""
  from tests.nets import keras_parity  # pylint: disable=g-import-not-at-top
  return keras_parity.random_images(size, low=0.0, high=255.0, batch=batch,
                                    seed=seed)


def _parity(twin, name, size, tmp_path, files=('legacy_h5', 'weights_h5')):
  """Our logits from each of the twin's files equal the twin's on two
  images within 1e-4 relative.

  The twin's random batch-norm statistics drown the input in the deeper
  blocks: the two images' logits differ by ~1e-3 of the logits (the rest
  is input-independent bias), so the difference is compared too, within
  1e-3 of itself (float32 noise on the logits is ~1e-7)."""
  from tests.nets import keras_parity  # pylint: disable=g-import-not-at-top
  images = _pixels(size, batch=2)
  expected = twin.logits(images)
  for file_attr in files:
    ours = keras_parity.imported_logits(name, getattr(twin, file_attr),
                                        images, tmp_path)
    keras_parity.assert_logits_close(ours, expected)
    keras_parity.assert_logits_close(ours[0] - ours[1],
                                     expected[0] - expected[1], rtol=1e-3)


@pytest.mark.slow
def test_b0_full_size_parity_both_files(tmp_path):
  _parity(_twin('efficientnet_b0', tmp_path), 'efficientnet_b0', 224,
          tmp_path)


def _reduced_twin(name, size, tmp_path):
  """The twin built with weights='imagenet' at `size` x `size`: Keras
  refuses another input shape with the top and the ImageNet weights, a
  check (not a limit of the network) that this skips."""
  # pylint: disable=g-import-not-at-top
  from unittest import mock
  from keras.src.applications import imagenet_utils
  with mock.patch.object(imagenet_utils, 'obtain_input_shape',
                         lambda *args, **kwargs: (size, size, 3)):
    return _twin(name, tmp_path)


# B1 at an odd size (Keras' correct_pad pads odd and even maps differently)
# and B2 (the first member whose width rounds) run by default; B3-B7 take
# 1-3 minutes each on two cores and run with EFFICIENTNET_ALL_PARITY=1.
_ALL_PARITY = os.environ.get('EFFICIENTNET_ALL_PARITY') == '1'
_REDUCED = [('efficientnet_b1', 65), ('efficientnet_b2', 64)] + [
    pytest.param(name, 64, marks=pytest.mark.skipif(
        not _ALL_PARITY, reason='EFFICIENTNET_ALL_PARITY=1 runs it'))
    for name in MEMBERS[3:]]


@pytest.mark.slow
@pytest.mark.parametrize('name,size', _REDUCED)
def test_larger_members_parity_at_reduced_size(name, size, tmp_path):
  _parity(_reduced_twin(name, size, tmp_path), name, size, tmp_path,
          files=('legacy_h5',))


# Graph construction at small sizes -----------------------------------------


def _build(name='efficientnet_b0', size=64, num_classes=10, is_training=False,
           **kwargs):
  images = tf1.placeholder(tf.float32, [2, size, size, 3])
  network_fn = nets_factory.get_network_fn(name, num_classes,
                                           is_training=is_training)
  return network_fn(images, **kwargs)


def _drop_path_ops(graph):
  return sorted({op.name.split('/drop_path/')[0]
                 for op in graph.get_operations()
                 if '/drop_path/' in op.name and op.type == 'RandomUniform'})


def test_drop_path_only_in_training_with_keras_rates():
  with tf.Graph().as_default() as graph:
    _build(size=32, is_training=True)
    dropped = _drop_path_ops(graph)
  # Every block with an identity shortcut: those whose input and output
  # widths and sizes agree (Keras drops the same ones).
  blocks = efficientnet.expand_blocks(1.0, 1.0, 0.2)
  shortcut = [f'efficientnet_b0/{b.name}' for b in blocks
              if b.strides == 1 and b.filters_in == b.filters_out]
  assert dropped == sorted(shortcut)
  assert len(dropped) == 9
  # Keras' linear schedule over the 16 blocks: 0.2 * b / 16.
  rates = {b.name: b.drop_rate for b in blocks}
  assert rates['block1a'] == 0.0
  assert rates['block2b'] == pytest.approx(0.2 * 2 / 16)
  assert rates['block7a'] == pytest.approx(0.2 * 15 / 16)
  with tf.Graph().as_default() as graph:
    _build(size=32, is_training=False)
    assert _drop_path_ops(graph) == []
    assert not [op for op in graph.get_operations()
                if op.type == 'RandomUniform'
                and '/Initializer/' not in op.name]


def test_training_graph_runs_and_drops_examples():
  # With every branch dropped at rate ~1, a training forward pass differs
  # between two runs on the same input; batch-norm updates exist.
  with tf.Graph().as_default():
    tf1.set_random_seed(1)
    logits, end_points = _build(size=32, is_training=True,
                                drop_connect_rate=0.9)
    update_ops = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
    assert update_ops
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3))
    with harness.initialised_session() as sess:
      inputs = tf1.get_default_graph().get_tensor_by_name('Placeholder:0')
      first, second = (sess.run(end_points['top'], {inputs: images})
                       for _ in range(2))
  assert logits.shape.as_list() == [2, 10]
  assert not np.allclose(first, second)


def test_features_and_end_points():
  with tf.Graph().as_default():
    features, end_points = _build(num_classes=0)
    assert features.shape.as_list() == [2, 1, 1, 1280]
    assert 'Logits' not in end_points and 'Predictions' not in end_points
    assert end_points['global_pool'] is features
    assert end_points['stem'].shape.as_list() == [2, 32, 32, 32]
    assert end_points['block7a'].shape.as_list() == [2, 2, 2, 320]
  with tf.Graph().as_default():
    logits, end_points = _build(num_classes=5)
    assert logits.op.name == 'efficientnet_b0/Logits/SpatialSqueeze'
    assert end_points['PreLogits'].shape.as_list() == [2, 1, 1, 1280]
    assert end_points['Predictions'].shape.as_list() == [2, 5]


def test_final_endpoint_and_unknown_one():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 32, 32, 3])
    net, end_points = efficientnet.efficientnet_base(
        images, final_endpoint='block2b')
    assert list(end_points)[-1] == 'block2b'
    assert net.shape.as_list() == [1, 8, 8, 24]
    with pytest.raises(ValueError, match='block2b'):
      efficientnet.efficientnet_base(images, final_endpoint='block9z')


@pytest.mark.parametrize('size,stem', [(33, 17), (34, 17), (None, None)])
def test_stem_pads_like_keras(size, stem):
  # correct_pad + VALID: ceil(size / 2) for odd and even sizes, any size
  # when unknown.
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, size, size, 3])
    _, end_points = efficientnet.efficientnet_base(images,
                                                   final_endpoint='stem')
    assert end_points['stem'].shape.as_list() == [1, stem, stem, 32]


def test_without_global_pool_pools_the_default_window():
  with tf.Graph().as_default():
    logits, end_points = _build(size=224, global_pool=False)
    assert end_points['AvgPool_1a'].shape.as_list() == [2, 1, 1, 1280]
    assert logits.shape.as_list() == [2, 10]


def test_keras_rounding_of_widths_and_depths():
  # Keras' stage widths and repeats of B7 (width 2.0, depth 3.1), from the
  # Keras model's layer names and shapes in the manifest test; here the
  # rounding rule itself: 10% floor.
  assert efficientnet.round_filters(32, 1.1) == 32
  assert efficientnet.round_filters(16, 1.4) == 24
  assert efficientnet.round_repeats(1, 3.1) == 4


# The scripts, unchanged, on a tiny dataset ---------------------------------


@pytest.mark.slow
def test_train_and_eval_scripts_run_efficientnet_b0(tmp_path):
  # Two steps at 32 x 32 with the network's own preprocessing (center_crop),
  # then one evaluation batch of the checkpoint.
  import math  # pylint: disable=g-import-not-at-top
  from tests import cli_harness as h  # pylint: disable=g-import-not-at-top
  train = h.script_module('train_image_classifier')
  evaluate = h.script_module('eval_image_classifier')
  data = h.make_shapes(tmp_path / 'shapes', train=8, validation=4)
  train_dir = tmp_path / 'train'
  loss = train.train(h.train_values(
      data, train_dir, model_name='efficientnet_b0', preprocessing_name=None,
      train_image_size=32, batch_size=2, max_number_of_steps=2))
  assert math.isfinite(loss)
  assert h.checkpoint_step(train_dir) == 2
  result = evaluate.evaluate(
      h.eval_values(data, tmp_path / 'eval', model_name='efficientnet_b0',
                    preprocessing_name=None, eval_image_size=32,
                    batch_size=4, max_num_batches=1),
      tf.train.latest_checkpoint(str(train_dir)))
  assert 0.0 <= result['Accuracy'] <= 1.0
  assert result['global_step'] == 2
