"""The Inception family's knobs, beyond the registry-driven contract.

Graph construction only, on small inputs, except the residual-block
arithmetic tests (tiny forward passes). Manifest parity, goldens and the
exported node names are covered by test_nets_contract.py and
test_nets_goldens.py.
"""
import numpy as np
import pytest
import tensorflow as tf

import slim
from nets import inception
from nets import inception_resnet_v2 as irv2
from nets import inception_utils
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1

# name: (network fn, base fn, arg_scope fn, channels of the pre-logits
# features). Classification heads default to other class counts, so tests
# pass num_classes explicitly.
NETS = {
    'inception_v1': (inception.inception_v1, inception.inception_v1_base,
                     inception.inception_v1_arg_scope, 1024),
    'inception_v2': (inception.inception_v2, inception.inception_v2_base,
                     inception.inception_v2_arg_scope, 1024),
    'inception_v3': (inception.inception_v3, inception.inception_v3_base,
                     inception.inception_v3_arg_scope, 2048),
    'inception_v4': (inception.inception_v4, inception.inception_v4_base,
                     inception.inception_v4_arg_scope, 1536),
    'inception_resnet_v2': (inception.inception_resnet_v2,
                            inception.inception_resnet_v2_base,
                            inception.inception_resnet_v2_arg_scope, 1536),
}
THINNABLE = ['inception_v1', 'inception_v2', 'inception_v3']


def _build(name, shape, **kwargs):
  """Builds network `name` under its arg_scope on a placeholder of `shape`."""
  network_fn, _, arg_scope_fn, _ = NETS[name]
  images = tf1.placeholder(tf.float32, shape)
  with slim.arg_scope(arg_scope_fn()):
    return network_fn(images, **kwargs)


def _size(name):
  return NETS[name][0].default_image_size


def _variable_names():
  return [v.op.name for v in tf1.global_variables()]


@pytest.mark.parametrize('name', sorted(NETS))
def test_num_classes_zero_returns_pre_logits_features(name):
  size = _size(name)
  with tf.Graph().as_default():
    net, end_points = _build(name, [2, size, size, 3], num_classes=0)
    assert net.shape.as_list() == [2, 1, 1, NETS[name][3]]
    assert 'Logits' not in end_points and 'AuxLogits' not in end_points
    assert not [n for n in _variable_names() if 'Logits' in n]


@pytest.mark.parametrize('name', THINNABLE)
def test_global_pool_takes_a_larger_input(name):
  size = 2 * _size(name)
  # As in the original, the aux head of v3 only fits default-sized inputs.
  kwargs = {'create_aux_logits': False} if name == 'inception_v3' else {}
  with tf.Graph().as_default():
    logits, end_points = _build(name, [1, size, size, 3], num_classes=10,
                                global_pool=True, **kwargs)
    assert logits.shape.as_list() == [1, 10]
    assert end_points['global_pool'].shape.as_list()[1:3] == [1, 1]


@pytest.mark.parametrize('name,size', [('inception_v4', 2 * 299),
                                       ('inception_resnet_v2', None)])
def test_head_pools_whatever_size_it_gets(name, size):
  # The final pool covers the whole map; a global mean if its size is unknown.
  with tf.Graph().as_default():
    logits, end_points = _build(name, [1, size, size, 3], num_classes=10,
                                create_aux_logits=False)
    assert logits.shape.as_list() == [1, 10]
    assert end_points['global_pool'].shape.as_list()[1:3] == [1, 1]
    assert (end_points['global_pool'].op.type == 'Mean') == (size is None)
    assert 'AuxLogits' not in end_points
    assert not [n for n in _variable_names() if '/AuxLogits/' in n]


def test_inception_v3_small_input_reduces_kernels():
  # 150 -> Mixed_6e 7 x 7 (aux: 5x5/3 pool -> 1 x 1) -> Mixed_7c 3 x 3.
  with tf.Graph().as_default():
    logits, end_points = _build('inception_v3', [1, 150, 150, 3],
                                num_classes=10)
    assert logits.shape.as_list() == [1, 10]
    assert end_points['AuxLogits'].shape.as_list() == [1, 10]
    names = _variable_names()
    assert 'InceptionV3/AuxLogits/Conv2d_2a_1x1/weights' in names
    assert end_points['AvgPool_1a'].op.name.startswith(
        'InceptionV3/Logits/AvgPool_1a_3x3')


def test_inception_v2_small_input_reduces_kernel():
  with tf.Graph().as_default():
    logits, end_points = _build('inception_v2', [1, 112, 112, 3],
                                num_classes=10)
    assert end_points['Mixed_5c'].shape.as_list() == [1, 4, 4, 1024]
    assert logits.shape.as_list() == [1, 10]


@pytest.mark.parametrize('name,end_point,channels', [
    # Every conv is thinned: depth(d) = max(int(d * 0.5), 16).
    ('inception_v1', 'Mixed_5c', 512),
    ('inception_v2', 'Mixed_5c', 512),
    ('inception_v3', 'Mixed_7c', 1024),
])
def test_depth_multiplier_thins_every_layer(name, end_point, channels):
  size = _size(name)
  with tf.Graph().as_default():
    _, end_points = _build(name, [1, size, size, 3], num_classes=0,
                           depth_multiplier=0.5)
    assert end_points[end_point].shape.as_list()[-1] == channels


@pytest.mark.parametrize('name', THINNABLE)
def test_min_depth_floors_thinned_layers(name):
  base = NETS[name][1]
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 224, 224, 3])
    # Conv2d_1a: depth(64 or 32) * 0.1 < 16, so min_depth wins.
    first = 'Conv2d_1a_3x3' if name == 'inception_v3' else 'Conv2d_1a_7x7'
    net, _ = base(images, final_endpoint=first, depth_multiplier=0.1,
                  min_depth=16)
    assert net.shape.as_list()[-1] == 16


@pytest.mark.parametrize('name', THINNABLE)
def test_depth_multiplier_must_be_positive(name):
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='depth_multiplier'):
      _build(name, [1, 224, 224, 3], num_classes=10, depth_multiplier=0.0)
    assert not tf1.global_variables()


@pytest.mark.parametrize('name,final_endpoint,next_scope', [
    ('inception_v1', 'Mixed_3c', 'Mixed_4b'),
    ('inception_v2', 'Mixed_4a', 'Mixed_4b'),
    ('inception_v3', 'Mixed_6a', 'Mixed_6b'),
    ('inception_v4', 'Mixed_5a', 'Mixed_5b'),
    ('inception_resnet_v2', 'Mixed_6a', 'Repeat_1'),
])
def test_final_endpoint_stops_early(name, final_endpoint, next_scope):
  base = NETS[name][1]
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 299, 299, 3])
    net, end_points = base(images, final_endpoint=final_endpoint)
    assert list(end_points)[-1] == final_endpoint
    assert end_points[final_endpoint] is net
    scopes = {n.split('/')[1] for n in _variable_names()}
    assert final_endpoint in scopes and next_scope not in scopes


@pytest.mark.parametrize('name', sorted(NETS))
def test_unknown_final_endpoint_lists_valid_ones(name):
  base = NETS[name][1]
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 299, 299, 3])
    with pytest.raises(ValueError, match=r"'Mixed_9z'.*Valid values:.*Mixed"):
      base(images, final_endpoint='Mixed_9z')
    assert not tf1.global_variables()  # Checked before building anything.


@pytest.mark.parametrize('name', THINNABLE)
def test_spatial_squeeze_false_keeps_1x1(name):
  size = _size(name)
  with tf.Graph().as_default():
    logits, end_points = _build(name, [2, size, size, 3], num_classes=10,
                                spatial_squeeze=False)
    assert logits.shape.as_list() == [2, 1, 1, 10]
    assert end_points['Predictions'].shape.as_list() == [2, 1, 1, 10]
    if 'AuxLogits' in end_points:
      assert end_points['AuxLogits'].shape.as_list() == [2, 1, 1, 10]


def test_create_aux_logits_false_removes_aux_head():
  # (inception_v4 and inception_resnet_v2: see the head test above.)
  with tf.Graph().as_default():
    _, end_points = _build('inception_v3', [1, 299, 299, 3], num_classes=10,
                           create_aux_logits=False)
    assert 'AuxLogits' not in end_points
    assert not [n for n in _variable_names() if '/AuxLogits/' in n]


def test_reuse_shares_variables():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 224, 224, 3])
    inception.inception_v1(images, num_classes=10)
    count = len(tf1.global_variables())
    logits, _ = inception.inception_v1(images, num_classes=10, reuse=True)
    assert len(tf1.global_variables()) == count
    assert logits.shape.as_list() == [1, 10]


def test_scope_and_prediction_fn():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 224, 224, 3])
    _, end_points = inception.inception_v2(
        images, num_classes=10, scope='Student',
        prediction_fn=lambda logits, scope: tf.identity(logits, name=scope))
    assert end_points['Predictions'].op.type == 'Identity'
    assert all(n.startswith('Student/') for n in _variable_names())


@pytest.mark.parametrize('name', ['inception_v1', 'inception_v2'])
def test_include_root_block_false_starts_at_mixed_3b(name):
  base = NETS[name][1]
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 28, 28, 192])
    net, end_points = base(images, include_root_block=False)
    assert list(end_points)[0] == 'Mixed_3b'
    assert net.shape.as_list() == [1, 7, 7, 1024]
    assert not [n for n in _variable_names() if 'Conv2d_1a_7x7' in n]


def test_inception_v2_separable_first_layer_knob():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 224, 224, 3])
    inception.inception_v2_base(images, final_endpoint='Conv2d_1a_7x7',
                                use_separable_conv=False)
    assert _variable_names() == ['InceptionV2/Conv2d_1a_7x7/weights',
                                 'InceptionV2/Conv2d_1a_7x7/biases']


def test_inception_v2_nchw():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 3, 224, 224])
    net, end_points = inception.inception_v2_base(
        images, use_separable_conv=False, data_format='NCHW')
    assert net.shape.as_list() == [1, 1024, 7, 7]
    assert end_points['Mixed_3b'].shape.as_list() == [1, 256, 28, 28]
    with pytest.raises(ValueError, match='use_separable_conv'):
      inception.inception_v2_base(images, data_format='NCHW')
    with pytest.raises(ValueError, match="data_format.*'NHCW'"):
      inception.inception_v2_base(images, data_format='NHCW')


def test_inception_resnet_v2_output_stride_and_alignment():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 299, 299, 3])
    net, _ = irv2.inception_resnet_v2_base(
        images, final_endpoint='PreAuxLogits', output_stride=8)
    assert net.shape.as_list() == [1, 33, 33, 1088]
    with pytest.raises(ValueError, match='output_stride=8.*Mixed_7a'):
      irv2.inception_resnet_v2_base(images, final_endpoint='Mixed_7a',
                                    output_stride=8)
    with pytest.raises(ValueError, match='output_stride.*Received: 32'):
      irv2.inception_resnet_v2_base(images, output_stride=32)
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 320, 320, 3])
    net, end_points = irv2.inception_resnet_v2_base(images,
                                                    align_feature_maps=True)
    # SAME padding everywhere: every stride-2 layer halves exactly.
    assert end_points['Conv2d_1a_3x3'].shape.as_list() == [1, 160, 160, 32]
    assert end_points['Mixed_6a'].shape.as_list() == [1, 20, 20, 1088]
    assert net.shape.as_list() == [1, 10, 10, 1536]


def test_inception_resnet_v2_repeated_block_scopes():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 299, 299, 3])
    irv2.inception_resnet_v2_base(images)
    scopes = {'/'.join(n.split('/')[1:3]) for n in _variable_names()}
    assert {'Repeat/block35_10', 'Repeat_1/block17_20', 'Repeat_2/block8_9',
            'Block8/Branch_0'} <= scopes
    assert 'Repeat/block35_11' not in scopes


def _residual_outputs(block, scale, activation_fn):
  """(input, block(input) with det weights) on a tiny 5 x 5 x 16 input."""
  rng = np.random.default_rng(0)
  x = rng.standard_normal([1, 5, 5, 16]).astype(np.float32)
  with tf.Graph().as_default():
    inputs = tf.constant(x)
    linear = block(inputs, scale=1.0, activation_fn=None, scope='b')
    out = block(inputs, scale=scale, activation_fn=activation_fn, scope='b',
                reuse=True)
    linear, out = harness.run_initialised([linear, out])
  return x, linear - x, out


@pytest.mark.parametrize('block,scale', [(irv2.block35, 0.17),
                                         (irv2.block17, 0.10),
                                         (irv2.block8, 0.20)])
def test_residual_blocks_add_scaled_branch_then_activate(block, scale):
  # up = (block with scale 1, no activation) - input, the 1x1 projection.
  x, up, out = _residual_outputs(block, scale, tf.nn.relu)
  np.testing.assert_allclose(out, np.maximum(x + scale * up, 0.0),
                             rtol=1e-5, atol=1e-5)


def test_residual_block_relu6_clips_the_branch():
  x, up, out = _residual_outputs(irv2.block35, 20.0, tf.nn.relu6)
  expected = np.clip(x + np.clip(20.0 * up, -6.0, 6.0), 0.0, 6.0)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_inception_resnet_v2_activation_fn_reaches_the_blocks():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 299, 299, 3])
    irv2.inception_resnet_v2_base(images, final_endpoint='PreAuxLogits',
                                  activation_fn=tf.nn.relu6)
    ops = tf1.get_default_graph().get_operations()
    # One clip per residual block: 10 block35 + 20 block17.
    assert sum(op.type == 'ClipByValue' or op.name.endswith(
        'clip_by_value') for op in ops) == 30


@pytest.mark.parametrize('use_batch_norm,batch_norm_scale,expected', [
    (True, False, ['weights', 'BatchNorm/beta', 'BatchNorm/moving_mean',
                   'BatchNorm/moving_variance']),
    (True, True, ['weights', 'BatchNorm/gamma', 'BatchNorm/beta',
                  'BatchNorm/moving_mean', 'BatchNorm/moving_variance']),
    (False, False, ['weights', 'biases']),
])
def test_inception_arg_scope(use_batch_norm, batch_norm_scale, expected):
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 64, 64, 3])
    with slim.arg_scope(inception_utils.inception_arg_scope(
        weight_decay=0.1, use_batch_norm=use_batch_norm,
        batch_norm_scale=batch_norm_scale)):
      inception.inception_v3_base(images, final_endpoint='Conv2d_1a_3x3')
    prefix = 'InceptionV3/Conv2d_1a_3x3/'
    assert sorted(_variable_names()) == sorted(prefix + e for e in expected)
    assert len(tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)) == 1


def test_default_image_sizes_and_arg_scopes():
  assert [NETS[n][0].default_image_size for n in sorted(NETS)] == [
      299, 224, 224, 299, 299]
  for name in ['inception_v1', 'inception_v2', 'inception_v3',
               'inception_v4']:
    assert NETS[name][2] is inception_utils.inception_arg_scope
