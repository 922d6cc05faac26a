"""AlexNet v2 knobs: fully convolutional use, global pool, features, dropout.

Manifest parity and golden values are in test_nets_contract.py and
test_nets_goldens.py.
"""
import numpy as np
import pytest
import tensorflow as tf

import slim
from nets import alexnet, nets_factory
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1


def _build(shape, **kwargs):
  inputs = tf1.placeholder(tf.float32, shape)
  with slim.arg_scope(alexnet.alexnet_v2_arg_scope()):
    return inputs, alexnet.alexnet_v2(inputs, **kwargs)


def test_build_and_end_points():
  with tf.Graph().as_default():
    _, (logits, end_points) = _build([5, 224, 224, 3], num_classes=10)
    assert logits.op.name == 'alexnet_v2/fc8/squeezed'
    assert logits.shape.as_list() == [5, 10]
    layers = ['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'conv4', 'conv5',
              'pool5', 'fc6', 'fc7', 'fc8']
    assert list(end_points) == [f'alexnet_v2/{l}' for l in layers]
    assert end_points['alexnet_v2/pool5'].shape.as_list() == [5, 5, 5, 256]
    assert [v.op.name for v in slim.get_model_variables()] == [
        f'alexnet_v2/{l}/{w}' for l in layers if not l.startswith('pool')
        for w in ('weights', 'biases')]


def test_fully_convolutional():
  """300 x 400 -> pool5 8 x 11 -> 5x5 'VALID' fc6 -> a 4 x 7 score map."""
  with tf.Graph().as_default():
    _, (logits, _) = _build([1, 300, 400, 3], num_classes=10,
                            spatial_squeeze=False)
    assert logits.op.name == 'alexnet_v2/fc8/BiasAdd'
    assert logits.shape.as_list() == [1, 4, 7, 10]


def test_global_pool():
  with tf.Graph().as_default():
    _, (logits, end_points) = _build([1, 256, 256, 3], num_classes=10,
                                     spatial_squeeze=False, global_pool=True)
    assert logits.shape.as_list() == [1, 1, 1, 10]
    assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 4096]


@pytest.mark.parametrize('num_classes', [0, None])
def test_no_classes_returns_fc7_features(num_classes):
  with tf.Graph().as_default():
    _, (net, end_points) = _build([2, 224, 224, 3], num_classes=num_classes)
    assert net.op.name == 'alexnet_v2/fc7/Relu'
    assert net.shape.as_list() == [2, 1, 1, 4096]
    assert 'alexnet_v2/fc8' not in end_points


def test_dropout_only_in_training():
  """Same weights: training logits vary run to run, evaluation ones do not."""
  x = np.random.RandomState(0).uniform(size=(2, 224, 224, 3))
  with tf.Graph().as_default():
    inputs, (train, _) = _build([2, 224, 224, 3], num_classes=4)
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=True):
      with slim.arg_scope(alexnet.alexnet_v2_arg_scope()):
        evaluation, _ = alexnet.alexnet_v2(inputs, num_classes=4,
                                           is_training=False)
    with harness.initialised_session() as sess:
      runs = [sess.run((train, evaluation), {inputs: x}) for _ in range(2)]
  assert not np.allclose(runs[0][0], runs[1][0])
  np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_registered():
  assert alexnet.alexnet_v2.default_image_size == 224
  assert nets_factory.networks_map['alexnet_v2'] is alexnet.alexnet_v2
  assert nets_factory.arg_scopes_map['alexnet_v2'] is \
      alexnet.alexnet_v2_arg_scope
