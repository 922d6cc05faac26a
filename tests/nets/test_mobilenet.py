"""The MobileNet knobs, on small inputs (graph construction only).

Manifest parity and the forward-pass goldens are in test_nets_contract.py and
test_nets_goldens.py; here: depth multipliers and min_depth, num_classes=0,
conv_defs, finegrain_classification_mode, use_explicit_padding,
output_stride, global_pool, and the block formulas (hard-swish,
hard-sigmoid gate, channel rounding).
"""
import numpy as np
import pytest
import tensorflow as tf

import slim
from nets import mobilenet_v1
from nets.mobilenet import conv_blocks
from nets.mobilenet import mobilenet as lib
from nets.mobilenet import mobilenet_v2
from nets.mobilenet import mobilenet_v3
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1


def _images(size=64, batch=1, channels=3):
  if isinstance(size, int):
    size = (size, size)
  return tf1.placeholder(tf.float32, [batch, size[0], size[1], channels])


def _channels(end_points, key):
  return end_points[key].shape.as_list()[-1]


def _spatial(end_points, key):
  return end_points[key].shape.as_list()[1:3]


def _op_types(graph, prefix=''):
  return [o.type for o in graph.get_operations() if o.name.startswith(prefix)]


# MobileNet v1 -------------------------------------------------------------


@pytest.mark.parametrize('multiplier,min_depth,first,last', [
    (1.0, 8, 32, 1024),
    (0.5, 8, 16, 512),
    # int(32 * 0.1) = 3 -> min_depth.
    (0.1, 8, 8, 102),
    (0.1, 16, 16, 102),
])
def test_v1_depth_multiplier(multiplier, min_depth, first, last):
  with tf.Graph().as_default():
    _, end_points = mobilenet_v1.mobilenet_v1_base(
        _images(32), depth_multiplier=multiplier, min_depth=min_depth)
    assert _channels(end_points, 'Conv2d_0') == first
    assert _channels(end_points, 'Conv2d_13_pointwise') == last
    # Depthwise layers keep their input's channels.
    assert _channels(end_points, 'Conv2d_13_depthwise') == _channels(
        end_points, 'Conv2d_12_pointwise')


def test_v1_width_variants():
  assert mobilenet_v1.mobilenet_v1_025.default_image_size == 224
  with tf.Graph().as_default():
    logits, end_points = mobilenet_v1.mobilenet_v1_025(_images(32),
                                                       num_classes=7)
    assert _channels(end_points, 'Conv2d_13_pointwise') == 256
    assert logits.shape.as_list() == [1, 7]
    _, end_points = mobilenet_v1.mobilenet_v1_050(_images(32), scope='half')
    assert _channels(end_points, 'Conv2d_13_pointwise') == 512
    # The width is a default: a caller may still set it.
    _, end_points = mobilenet_v1.mobilenet_v1_050(
        _images(32), depth_multiplier=0.25, scope='quarter')
    assert _channels(end_points, 'Conv2d_13_pointwise') == 256


def test_v1_features_without_classes():
  with tf.Graph().as_default():
    net, end_points = mobilenet_v1.mobilenet_v1(_images(64), num_classes=0)
    # 64 / 32 = 2: the 7x7 pool shrinks to 2x2.
    assert net.shape.as_list() == [1, 1, 1, 1024]
    assert 'Logits' not in end_points and 'AvgPool_1a' in end_points
    assert not [v for v in tf1.global_variables() if 'Logits' in v.op.name]


def test_v1_global_pool_any_size():
  with tf.Graph().as_default():
    # 320 / 32 = 10: the fixed 7x7 pool (slim's default stride 2) leaves
    # 2x2 logits ...
    _, end_points = mobilenet_v1.mobilenet_v1(
        _images(320), num_classes=5, spatial_squeeze=False)
    assert end_points['Logits'].shape.as_list() == [1, 2, 2, 5]
  with tf.Graph().as_default():
    # ... a global pool gives one, for any (even unknown) size.
    logits, end_points = mobilenet_v1.mobilenet_v1(
        tf1.placeholder(tf.float32, [2, None, None, 3]), num_classes=5,
        global_pool=True)
    assert end_points['global_pool'].shape.as_list() == [2, 1, 1, 1024]
    assert logits.shape.as_list() == [2, 5]


@pytest.mark.parametrize('output_stride,size', [(None, 2), (32, 2), (16, 4),
                                                (8, 8)])
def test_v1_output_stride(output_stride, size):
  with tf.Graph().as_default() as g:
    _, end_points = mobilenet_v1.mobilenet_v1_base(
        _images(64), output_stride=output_stride)
    assert _spatial(end_points, 'Conv2d_13_pointwise') == [size, size]
    dilated = [o for o in g.get_operations()
               if o.type == 'DepthwiseConv2dNative'
               and o.get_attr('dilations')[1] > 1]
    # Dilated depthwise layers (as space-to-batch or dilations) past the
    # target stride.
    s2b = _op_types(g).count('SpaceToBatchND')
    assert (dilated or s2b) if size > 2 else not (dilated or s2b)


def test_v1_explicit_padding():
  for size in (64, 33):
    with tf.Graph().as_default() as g:
      _, same = mobilenet_v1.mobilenet_v1_base(_images(size))
      same_shapes = {k: v.shape.as_list() for k, v in same.items()}
    with tf.Graph().as_default() as g:
      _, explicit = mobilenet_v1.mobilenet_v1_base(_images(size),
                                                   use_explicit_padding=True)
      assert {k: v.shape.as_list() for k, v in explicit.items()} == same_shapes
      # One Pad per 3x3 layer (1 conv + 13 depthwise), all convs VALID.
      assert _op_types(g).count('Pad') == 14
      paddings = {o.get_attr('padding') for o in g.get_operations()
                  if o.type in ('Conv2D', 'DepthwiseConv2dNative')}
      assert paddings == {b'VALID'}


def test_v1_conv_defs_and_final_endpoint():
  Conv, Sep = mobilenet_v1.Conv, mobilenet_v1.DepthSepConv
  conv_defs = [Conv(kernel=[3, 3], stride=2, depth=16),
               Sep(kernel=[3, 3], stride=2, depth=24)]
  with tf.Graph().as_default():
    net, end_points = mobilenet_v1.mobilenet_v1_base(
        _images(32), final_endpoint='Conv2d_1_pointwise', conv_defs=conv_defs)
    assert sorted(end_points) == ['Conv2d_0', 'Conv2d_1_depthwise',
                                  'Conv2d_1_pointwise']
    assert net.shape.as_list() == [1, 8, 8, 24]
  with tf.Graph().as_default():
    net, end_points = mobilenet_v1.mobilenet_v1_base(
        _images(32), final_endpoint='Conv2d_3_depthwise')
    assert len(end_points) == 6
    assert net.shape.as_list() == [1, 8, 8, 128]


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth_multiplier=0.0), 'depth_multiplier'),
    (dict(output_stride=12), 'output_stride'),
    (dict(final_endpoint='Conv2d_14_pointwise'), 'final_endpoint'),
    (dict(conv_defs=[('conv', 3, 2, 32)]), 'conv_defs'),
])
def test_v1_errors(kwargs, match):
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=match):
      mobilenet_v1.mobilenet_v1_base(_images(32), **kwargs)


def test_v1_arg_scope_regularizes_pointwise_only():
  with tf.Graph().as_default():
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope(
        weight_decay=0.01)):
      mobilenet_v1.mobilenet_v1(_images(32), num_classes=3)
    losses = tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)
    # Conv2d_0, 13 pointwise and the logits; the depthwise are not.
    assert len(losses) == 15


# MobileNet v2 -------------------------------------------------------------


def test_v2_depth_multiplier_rounds_to_8():
  with tf.Graph().as_default():
    _, end_points = mobilenet_v2.mobilenet_base(_images(32),
                                                depth_multiplier=0.5)
    # 32 * .5 = 16; the 1x1 expansion of 16 * 6 = 96 channels.
    assert _channels(end_points, 'layer_1') == 16
    assert _channels(end_points, 'layer_3/expansion_output') == 48
    assert _channels(end_points, 'layer_18') == 160
    assert _channels(end_points, 'layer_19') == 640
  with tf.Graph().as_default():
    _, end_points = mobilenet_v2.mobilenet_base(_images(32),
                                                depth_multiplier=0.1)
    # 3.2 -> 8 (min_depth); 320 * .1 = 32.
    assert _channels(end_points, 'layer_1') == 8
    assert _channels(end_points, 'layer_18') == 32


def test_v2_divisible_by_and_min_depth():
  with tf.Graph().as_default() as g:
    mobilenet_v2.mobilenet(_images(32), depth_multiplier=0.1, min_depth=32,
                           divisible_by=16, num_classes=0)
    depths = [o.outputs[0].shape.as_list()[-1] for o in g.get_operations()
              if o.type == 'Conv2D' and o.name.startswith('MobilenetV2/')]
    assert depths and all(d % 16 == 0 and d >= 32 for d in depths), depths


@pytest.mark.parametrize('multiplier,finegrain,embedding', [
    (0.5, False, 640), (0.5, True, 1280), (1.4, True, 1792),
    (0.01, True, 1280)])
def test_v2_finegrain_classification_mode(multiplier, finegrain, embedding):
  with tf.Graph().as_default():
    _, end_points = mobilenet_v2.mobilenet(
        _images(32), depth_multiplier=multiplier, num_classes=0,
        finegrain_classification_mode=finegrain)
    assert _channels(end_points, 'layer_19') == embedding
    assert _channels(end_points, 'global_pool') == embedding


def test_v2_width_variants():
  with tf.Graph().as_default():
    _, end_points = mobilenet_v2.mobilenet_v2_035(_images(32), num_classes=0)
    # 32 * .35 = 11.2 -> 8 is more than 10% down -> 16.
    assert _channels(end_points, 'layer_1') == 16
    assert _channels(end_points, 'layer_19') == 1280
  assert mobilenet_v2.mobilenet_v2_140.default_image_size == 224
  # The tables are not modified by building a variant.
  assert mobilenet_v2.V2_DEF['spec'][-1].params['num_outputs'] == 1280


def test_v2_features_and_logits():
  with tf.Graph().as_default():
    net, end_points = mobilenet_v2.mobilenet(_images(64), num_classes=0)
    assert net.shape.as_list() == [1, 1, 1, 1280]
    assert 'Logits' not in end_points
  with tf.Graph().as_default():
    logits, end_points = mobilenet_v2.mobilenet(_images(64), num_classes=10)
    assert logits.op.name == 'MobilenetV2/Logits/output'
    assert end_points['Predictions'].op.name == (
        'MobilenetV2/Predictions/Reshape_1')
    assert _spatial(end_points, 'layer_19') == [2, 2]
    assert 'layer_18/output' in end_points
    assert 'layer_2/expansion_output' not in end_points  # expansion 1


def test_v2_global_pool_any_size():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [2, None, None, 3])
    logits, end_points = mobilenet_v2.mobilenet(images, num_classes=10)
    assert end_points['global_pool'].shape.as_list() == [2, 1, 1, 1280]
    assert logits.shape.as_list() == [2, 10]
    with harness.initialised_session() as sess:
      for size in (40, 96):
        out = sess.run(logits, {images: np.zeros([2, size, size + 8, 3])})
        assert out.shape == (2, 10)


@pytest.mark.parametrize('output_stride,size', [(None, 2), (16, 4), (8, 8)])
def test_v2_output_stride(output_stride, size):
  with tf.Graph().as_default():
    _, end_points = mobilenet_v2.mobilenet_base(_images(64),
                                                output_stride=output_stride)
    assert _spatial(end_points, 'layer_19') == [size, size]


def test_v2_output_stride_error():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='output_stride'):
      mobilenet_v2.mobilenet_base(_images(64), output_stride=3)


def test_v2_explicit_padding():
  with tf.Graph().as_default():
    _, same = mobilenet_v2.mobilenet_base(_images(33))
    same_shapes = {k: v.shape.as_list() for k, v in same.items()}
  with tf.Graph().as_default() as g:
    _, explicit = mobilenet_v2.mobilenet_base(_images(33),
                                              use_explicit_padding=True)
    assert {k: v.shape.as_list() for k, v in explicit.items()} == same_shapes
    # The first conv and the 17 depthwise convs pad explicitly; as in the
    # original, the last 1x1 conv gets a (zero) Pad too.
    assert _op_types(g).count('Pad') == 19
    paddings = {o.get_attr('padding') for o in g.get_operations()
                if o.type in ('Conv2D', 'DepthwiseConv2dNative')}
    assert paddings == {b'VALID'}


def test_v2_conv_defs_override():
  conv_defs = dict(
      defaults=mobilenet_v2.V2_DEF['defaults'],
      spec=[lib.op(slim.conv2d, stride=2, num_outputs=8, kernel_size=[3, 3]),
            lib.op(conv_blocks.expanded_conv, stride=2, num_outputs=16),
            lib.op(conv_blocks.expanded_conv, num_outputs=16)])
  with tf.Graph().as_default():
    logits, end_points = mobilenet_v2.mobilenet(_images(32), num_classes=4,
                                                conv_defs=conv_defs)
    assert _channels(end_points, 'layer_2/expansion_output') == 48
    assert _spatial(end_points, 'layer_3') == [8, 8]
    assert 'layer_4' not in end_points
    assert logits.shape.as_list() == [1, 4]
    names = {v.op.name for v in tf1.global_variables()}
    assert 'MobilenetV2/expanded_conv_1/expand/weights' in names


def test_v2_activation_fn_and_multiplier_error():
  with tf.Graph().as_default() as g:
    mobilenet_v2.mobilenet_base(_images(32), activation_fn=tf.nn.relu)
    types = _op_types(g, 'MobilenetV2/')
    assert 'Relu' in types and 'Relu6' not in types
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='depth_multiplier'):
      mobilenet_v2.mobilenet(_images(32), multiplier=0.5)


def test_training_scope_batch_norm_follows_is_training():
  with tf.Graph().as_default():
    with slim.arg_scope(mobilenet_v2.training_scope()):
      mobilenet_v2.mobilenet(_images(32), num_classes=3, is_training=False)
    assert not tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
  with tf.Graph().as_default():
    with slim.arg_scope(mobilenet_v2.training_scope(weight_decay=0.01)):
      mobilenet_v2.mobilenet(_images(32), num_classes=3, is_training=True)
    assert tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
    losses = tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)
    # 2 plain convs + 16 expansions + 17 projections + the logits: every
    # conv2d but not the depthwise.
    assert len(losses) == 36


# MobileNet v3 and EdgeTPU -------------------------------------------------


def test_hard_swish_and_gate_formulas():
  x = np.linspace(-5, 5, 41).astype(np.float32)
  with tf.Graph().as_default():
    with tf1.Session() as sess:
      hs = sess.run(mobilenet_v3.hard_swish(tf.constant(x)))
      gate = sess.run(mobilenet_v3.squeeze_excite.keywords['gating_fn'](
          tf.constant(x)))
  np.testing.assert_allclose(hs, x * np.clip(x + 3, 0, 6) / 6, atol=1e-6)
  # The original's hard sigmoid multiplies by 0.16667, not 1/6.
  np.testing.assert_allclose(gate, np.clip(x + 3, 0, 6) * 0.16667, atol=1e-6)


def test_make_divisible():
  md = conv_blocks.make_divisible
  # 18 -> 16 would lose more than 10%, so 24.
  assert [md(v, 8) for v in (3.2, 11.2, 12, 16, 18, 100)] == [
      8, 16, 16, 16, 24, 104]
  assert md(3.2, 8, min_value=16) == 16


def test_squeeze_excite_placement_and_width():
  with tf.Graph().as_default():
    mobilenet_v3.small(_images(32), num_classes=0)
    shapes = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
  # Block 1: SE on the 16-channel depthwise output, 16 / 4 -> 8 channels.
  assert shapes['MobilenetV3/expanded_conv/squeeze_excite/Conv/weights'] == [
      1, 1, 16, 8]
  # Blocks 2 and 3 have none; block 4 squeezes 96 -> 24.
  assert not any(n.startswith('MobilenetV3/expanded_conv_1/squeeze')
                 for n in shapes)
  assert shapes['MobilenetV3/expanded_conv_3/squeeze_excite/Conv_1/weights'] \
      == [1, 1, 24, 96]


@pytest.mark.parametrize('name,first,embedding', [
    ('small', 16, 1024), ('edge_tpu', 32, 1280)])
def test_v3_depth_multiplier(name, first, embedding):
  fn = getattr(mobilenet_v3, name)
  with tf.Graph().as_default():
    _, end_points = fn(_images(32), num_classes=0, depth_multiplier=0.5)
    assert _channels(end_points, 'layer_1') == first // 2
    assert _channels(end_points, 'global_pool') == embedding // 2
  with tf.Graph().as_default():
    _, end_points = fn(_images(32), num_classes=0, depth_multiplier=0.5,
                       finegrain_classification_mode=True)
    assert _channels(end_points, 'global_pool') == embedding


def test_edge_tpu_075():
  with tf.Graph().as_default():
    logits, end_points = mobilenet_v3.edge_tpu_075(_images(64),
                                                   num_classes=10)
    assert logits.op.name == 'MobilenetEdgeTPU/Logits/output'
    assert _channels(end_points, 'layer_1') == 24
    assert _channels(end_points, 'layer_23') == 144
    assert _channels(end_points, 'layer_24') == 1280  # finegrain
  # The scope is a default a caller may override.
  with tf.Graph().as_default():
    logits, _ = mobilenet_v3.edge_tpu(_images(32), num_classes=3,
                                      scope='Other')
    assert logits.op.name == 'Other/Logits/output'


def test_edge_tpu_fused_blocks():
  with tf.Graph().as_default():
    _, end_points = mobilenet_v3.edge_tpu(_images(64), num_classes=0)
    shapes = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
  # Fused: a 3x3 strided expansion and no depthwise.
  assert shapes['MobilenetEdgeTPU/expanded_conv_1/expand/weights'] == [
      3, 3, 16, 128]
  assert _spatial(end_points, 'layer_3/expansion_output') == [16, 16]
  assert 'layer_3/depthwise_output' not in end_points
  assert 'layer_11/depthwise_output' in end_points


def test_v3_reduce_to_1x1_and_any_size():
  with tf.Graph().as_default():
    # 96 x 96 -> 3 x 3 before the pool, which takes it all.
    _, end_points = mobilenet_v3.large(_images(96), num_classes=10)
    assert _spatial(end_points, 'layer_17') == [3, 3]
    assert _spatial(end_points, 'layer_18') == [1, 1]
    assert end_points['Logits'].shape.as_list() == [1, 10]
  with tf.Graph().as_default():
    # Not square: the default 7x7 kernel (stride 1, VALID).
    _, end_points = mobilenet_v3.small(_images((256, 288)), num_classes=0)
    assert _spatial(end_points, 'layer_13') == [8, 9]
    assert _spatial(end_points, 'layer_14') == [2, 3]
    assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 1024]


@pytest.mark.parametrize('output_stride,size', [(16, 4), (8, 8)])
def test_v3_output_stride(output_stride, size):
  with tf.Graph().as_default():
    _, end_points = mobilenet_v3.mobilenet_base(
        _images(64), conv_defs=mobilenet_v3.V3_SMALL,
        output_stride=output_stride)
    assert _spatial(end_points, 'layer_13') == [size, size]


def test_v3_conv_defs_and_detection_tables():
  with tf.Graph().as_default():
    _, end_points = mobilenet_v3.mobilenet(
        _images(32), conv_defs=mobilenet_v3.V3_SMALL_DETECTION,
        base_only=True)
    # The last stage is halved: 96 -> 48, 576 -> 288.
    assert _channels(end_points, 'layer_12') == 48
    assert _channels(end_points, 'layer_13') == 288
  assert mobilenet_v3.V3_SMALL['spec'][12].params['num_outputs'] == 576


def test_expanded_conv_errors():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='depthwise_location'):
      conv_blocks.expanded_conv(_images(8, channels=8), 8,
                                depthwise_location='middle')
    with pytest.raises(ValueError, match='use_explicit_padding'):
      conv_blocks.expanded_conv(_images(8, channels=8), 8,
                                use_explicit_padding=True, padding='VALID')


def test_split_conv_parts():
  with tf.Graph().as_default():
    net = conv_blocks.split_conv(_images(8, channels=32), 64, num_ways=2,
                                 scope='proj')
    assert net.shape.as_list() == [1, 8, 8, 64]
    shapes = sorted(v.shape.as_list() for v in tf1.global_variables()
                    if v.op.name.endswith('weights'))
    assert shapes == [[1, 1, 16, 32], [1, 1, 16, 32]]
