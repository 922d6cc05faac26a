"""OverFeat knobs: fully convolutional use, global pool, features.

Graph construction only; manifest parity is in test_nets_contract.py.
"""
import pytest
import tensorflow as tf

import slim
from nets import nets_factory, overfeat

tf1 = tf.compat.v1


def _build(shape, **kwargs):
  inputs = tf1.placeholder(tf.float32, shape)
  with slim.arg_scope(overfeat.overfeat_arg_scope()):
    return overfeat.overfeat(inputs, **kwargs)


def test_build_and_end_points():
  with tf.Graph().as_default():
    logits, end_points = _build([5, 231, 231, 3], num_classes=10)
    assert logits.op.name == 'overfeat/fc8/squeezed'
    assert logits.shape.as_list() == [5, 10]
    layers = ['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'conv4', 'conv5',
              'pool5', 'fc6', 'fc7', 'fc8']
    assert list(end_points) == [f'overfeat/{l}' for l in layers]
    # 231 -> conv1 56 -> pool1 28 -> conv2 ('VALID' 5x5) 24 -> 12 -> 6.
    assert {k: v.shape.as_list()[1] for k, v in end_points.items()
            if 'pool' in k or k.endswith('conv2')} == {
                'overfeat/pool1': 28, 'overfeat/conv2': 24,
                'overfeat/pool2': 12, 'overfeat/pool5': 6}


def test_fully_convolutional():
  """281 -> pool5 8 x 8 -> 6x6 'VALID' fc6 -> a 2 x 2 score map."""
  with tf.Graph().as_default():
    logits, _ = _build([1, 281, 281, 3], num_classes=10,
                       spatial_squeeze=False)
    assert logits.op.name == 'overfeat/fc8/BiasAdd'
    assert logits.shape.as_list() == [1, 2, 2, 10]


def test_global_pool():
  with tf.Graph().as_default():
    logits, end_points = _build([1, 281, 281, 3], num_classes=10,
                                spatial_squeeze=False, global_pool=True)
    assert logits.shape.as_list() == [1, 1, 1, 10]
    assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 4096]


@pytest.mark.parametrize('num_classes', [0, None])
def test_no_classes_returns_fc7_features(num_classes):
  with tf.Graph().as_default():
    net, end_points = _build([2, 231, 231, 3], num_classes=num_classes)
    assert net.op.name == 'overfeat/fc7/Relu'
    assert net.shape.as_list() == [2, 1, 1, 4096]
    assert 'overfeat/fc8' not in end_points


def test_registered():
  assert overfeat.overfeat.default_image_size == 231
  assert nets_factory.networks_map['overfeat'] is overfeat.overfeat
  assert nets_factory.arg_scopes_map['overfeat'] is \
      overfeat.overfeat_arg_scope
