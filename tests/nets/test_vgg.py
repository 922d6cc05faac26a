"""VGG A/16/19 knobs: fully convolutional use, global pool, features, reuse.

Graph construction only (a forward pass needs the ~120M fc weights; the
golden test already runs one): manifest parity and values are in
test_nets_contract.py and test_nets_goldens.py.
"""
import pytest
import tensorflow as tf

import slim
from nets import nets_factory, vgg

tf1 = tf.compat.v1

NAMES = ['vgg_a', 'vgg_16', 'vgg_19']


def _build(name, shape, **kwargs):
  inputs = tf1.placeholder(tf.float32, shape)
  with slim.arg_scope(vgg.vgg_arg_scope()):
    return getattr(vgg, name)(inputs, **kwargs)


def _convs(name):
  return [f'{name}/conv{s + 1}/conv{s + 1}_{i + 1}'
          for s, n in enumerate(vgg.STAGE_REPEATS[name]) for i in range(n)]


@pytest.mark.parametrize('name', NAMES)
def test_build_and_end_points(name):
  with tf.Graph().as_default():
    logits, end_points = _build(name, [2, 224, 224, 3], num_classes=10)
    assert logits.op.name == f'{name}/fc8/squeezed'
    assert logits.shape.as_list() == [2, 10]
    expected = (_convs(name) + [f'{name}/pool{i}' for i in range(1, 6)] +
                [f'{name}/fc6', f'{name}/fc7', f'{name}/fc8'])
    assert sorted(end_points) == sorted(expected)
    assert end_points[f'{name}/pool5'].shape.as_list() == [2, 7, 7, 512]
    assert end_points[f'{name}/fc8'] is logits
    weights = [v.op.name for v in slim.get_model_variables()
               if v.op.name.endswith('/weights')]
    assert weights == [f'{e}/weights' for e in _convs(name)] + [
        f'{name}/fc{i}/weights' for i in (6, 7, 8)]


@pytest.mark.parametrize('name', NAMES)
def test_fully_convolutional(name):
  """256 -> pool5 8 x 8 -> 7x7 'VALID' fc6 -> 2 x 2 score map."""
  with tf.Graph().as_default():
    logits, _ = _build(name, [1, 256, 256, 3], num_classes=10,
                       spatial_squeeze=False)
    assert logits.op.name == f'{name}/fc8/BiasAdd'
    assert logits.shape.as_list() == [1, 2, 2, 10]
    same, _ = _build(name, [1, 256, 256, 3], num_classes=10,
                     spatial_squeeze=False, fc_conv_padding='SAME',
                     scope='same')
    assert same.shape.as_list() == [1, 8, 8, 10]


def test_global_pool():
  with tf.Graph().as_default():
    logits, end_points = _build('vgg_16', [1, 256, 256, 3], num_classes=10,
                                spatial_squeeze=False, global_pool=True)
    assert logits.shape.as_list() == [1, 1, 1, 10]
    assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 4096]
    assert end_points['global_pool'].op.name == 'vgg_16/global_pool'


@pytest.mark.parametrize('num_classes', [0, None])
def test_no_classes_returns_fc7_features(num_classes):
  with tf.Graph().as_default():
    net, end_points = _build('vgg_19', [2, 224, 224, 3],
                             num_classes=num_classes)
    assert net.op.name == 'vgg_19/fc7/Relu'
    assert net.shape.as_list() == [2, 1, 1, 4096]
    assert 'vgg_19/fc8' not in end_points
    assert not [v for v in tf1.global_variables() if '/fc8/' in v.op.name]
    pooled, _ = _build('vgg_19', [2, 224, 224, 3], num_classes=num_classes,
                       global_pool=True, scope='pooled')
    assert pooled.shape.as_list() == [2, 1, 1, 4096]


def test_train_eval_with_reuse():
  with tf.Graph().as_default():
    train, _ = _build('vgg_16', [2, 224, 224, 3], num_classes=10)
    count = len(tf1.global_variables())
    dropouts = [op.name for op in tf1.get_default_graph().get_operations()
                if op.name.startswith('vgg_16/dropout')]
    assert dropouts  # Training graph has dropout ops.
    evaluation, _ = _build('vgg_16', [1, 256, 256, 3], num_classes=10,
                           is_training=False, spatial_squeeze=False,
                           reuse=True)
    assert len(tf1.global_variables()) == count
    assert train.shape.as_list() == [2, 10]
    assert evaluation.shape.as_list() == [1, 2, 2, 10]


def test_arg_scope_and_regularization():
  with tf.Graph().as_default():
    inputs = tf1.placeholder(tf.float32, [1, 224, 224, 3])
    with slim.arg_scope(vgg.vgg_arg_scope(weight_decay=0.0005)):
      vgg.vgg_a(inputs)
    # One L2 loss per weight tensor: 8 convs + 3 fc.
    assert len(tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)) == 11


def test_readme_aliases():
  """`vgg.vgg16(images)` as the TF-Slim README wrote it, 1000 classes."""
  assert vgg.vgg16 is vgg.vgg_16 and vgg.vgg_d is vgg.vgg_16
  assert vgg.vgg19 is vgg.vgg_19 and vgg.vgg_e is vgg.vgg_19
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 224, 224, 3])
    predictions, _ = vgg.vgg16(images)
    assert predictions.op.name == 'vgg_16/fc8/squeezed'
    assert predictions.shape.as_list() == [1, 1000]


@pytest.mark.parametrize('name', NAMES)
def test_registered(name):
  fn = getattr(vgg, name)
  assert fn.__name__ == name and fn.default_image_size == 224
  assert nets_factory.networks_map[name] is fn
  assert nets_factory.arg_scopes_map[name] is vgg.vgg_arg_scope


def test_bad_stage_repeats():
  with tf.Graph().as_default():
    inputs = tf1.placeholder(tf.float32, [1, 32, 32, 3])
    with pytest.raises(ValueError, match=r'stage_repeats.*\(2, 2\)'):
      vgg.vgg(inputs, (2, 2))
