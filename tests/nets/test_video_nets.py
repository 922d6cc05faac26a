"""I3D and S3D-G knobs at small sizes (8 frames of 64 x 64).

Manifest parity and the golden forward pass are in test_nets_contract.py and
test_nets_goldens.py; here: shorter and smaller videos, features, gating and
temporal convolutions on/off, final_endpoint, the centering initializer.
"""
import numpy as np
import pytest
import tensorflow as tf

import slim
from nets import i3d
from nets import i3d_utils
from nets import s3dg
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1

SMALL = [2, 8, 64, 64, 3]
NETS = {'i3d': (i3d.i3d, i3d.i3d_arg_scope),
        's3dg': (s3dg.s3dg, s3dg.s3dg_arg_scope)}


def _build(name, shape=SMALL, **kwargs):
  fn, arg_scope = NETS[name]
  images = tf1.placeholder(tf.float32, shape, name='input')
  with slim.arg_scope(arg_scope()):
    logits, end_points = fn(images, **kwargs)
  return images, logits, end_points


def _variable_names():
  return [v.op.name for v in tf1.global_variables()]


@pytest.mark.parametrize('name', sorted(NETS))
def test_fewer_frames_and_smaller_frames(name):
  with tf.Graph().as_default():
    images, logits, end_points = _build(name, num_classes=5,
                                        is_training=False)
    # 8 x 64 x 64: strides 2 (conv), 1x2x2, 1x2x2, 2x2x2 and 2x2x2.
    assert end_points['Conv2d_1a_7x7'].shape.as_list() == [2, 4, 32, 32, 64]
    assert end_points['Mixed_5c'].shape.as_list() == [2, 1, 2, 2, 1024]
    assert logits.shape.as_list() == [2, 5]
    assert logits.op.name == 'InceptionV1/Logits/SpatialSqueeze'
    assert end_points['Predictions'].op.name == \
        'InceptionV1/Logits/Predictions/Reshape_1'
    with harness.initialised_session() as sess:
      x = np.random.RandomState(0).rand(*SMALL).astype(np.float32)
      first, probs = sess.run((logits, end_points['Predictions']),
                              {images: x})
      # Eval mode: no dropout, moving statistics; deterministic.
      np.testing.assert_array_equal(first, sess.run(logits, {images: x}))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize('name', sorted(NETS))
def test_num_classes_zero_gives_features(name):
  with tf.Graph().as_default():
    _, net, end_points = _build(name, num_classes=0, is_training=False)
    assert net.shape.as_list() == [2, 1024]
    assert end_points['global_pool'] is net
    assert 'Logits' not in end_points
    assert not [n for n in _variable_names() if '/Logits/' in n]


def test_s3dg_gating_on_and_off():
  with tf.Graph().as_default():
    _build('s3dg', num_classes=5, final_endpoint='Mixed_3b',
           spatial_squeeze=False)
    gated = [n for n in _variable_names() if 'self_gating' in n]
    # Conv2d_2c_3x3 and the four branches of Mixed_3b.
    assert len(gated) == 5
  with tf.Graph().as_default():
    _build('s3dg', num_classes=5, gating_startat=None)
    assert not [n for n in _variable_names() if 'self_gating' in n]
  with tf.Graph().as_default():
    _build('s3dg', num_classes=5, gating_startat='Mixed_4b')
    gated = [n for n in _variable_names() if 'self_gating' in n]
    assert gated and all(n.split('/')[1] >= 'Mixed_4b' for n in gated)
    # One transformer per branch of Mixed_4b ... Mixed_5c (7 modules).
    assert len(gated) == 7 * 4


def test_self_gating_is_a_channel_gate():
  with tf.Graph().as_default():
    x = tf.constant(np.random.RandomState(3).rand(1, 2, 3, 3, 4),
                    tf.float32)
    with tf1.variable_scope('net'):
      gated = s3dg.self_gating(x, scope='block')
    (weights,) = [v for v in tf1.global_variables()
                  if v.op.name == 'net/block/self_gating/transformer_W/weights']
    assert weights.shape.as_list() == [1, 1, 1, 4, 4]
    x_val, gated_val, w = harness.run_initialised((x, gated, weights))
    mean = x_val.mean(axis=(1, 2, 3))                       # [1, 4]
    gate = 1 / (1 + np.exp(-(mean @ w[0, 0, 0])))            # [1, 4]
    np.testing.assert_allclose(gated_val, x_val * gate[:, None, None, None],
                               rtol=1e-5)


def test_s3dg_temporal_convs():
  with tf.Graph().as_default():
    _build('s3dg', num_classes=5, final_endpoint='Mixed_3b',
           temporal_conv_startat=None, spatial_squeeze=False)
    assert not [n for n in _variable_names() if '/temporal/' in n]
    shapes = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
    assert shapes['InceptionV1/Conv2d_2c_3x3/weights'] == [1, 3, 3, 64, 192]
  with tf.Graph().as_default():
    _build('s3dg', num_classes=5, final_endpoint='Mixed_3b',
           first_temporal_kernel_size=5, spatial_squeeze=False)
    shapes = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
    assert shapes['InceptionV1/Conv2d_1a_7x7/weights'] == [5, 7, 7, 3, 64]
    assert shapes['InceptionV1/Conv2d_2c_3x3/temporal/weights'] == \
        [3, 1, 1, 192, 192]


def test_i3d_is_full_3d_and_ungated():
  with tf.Graph().as_default():
    _build('i3d', num_classes=5)
    names = _variable_names()
    assert not [n for n in names if 'self_gating' in n or '/temporal/' in n]
    shapes = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
    assert shapes['InceptionV1/Conv2d_1a_7x7/weights'] == [7, 7, 7, 3, 64]


@pytest.mark.parametrize('name', sorted(NETS))
def test_final_endpoint_stops_early(name):
  with tf.Graph().as_default():
    base = s3dg.s3dg_base if name == 's3dg' else i3d.i3d_base
    images = tf1.placeholder(tf.float32, SMALL)
    with slim.arg_scope(NETS[name][1]()):
      net, end_points = base(images, final_endpoint='MaxPool_3a_3x3')
    assert list(end_points) == list(s3dg.END_POINTS[:5])
    assert net is end_points['MaxPool_3a_3x3']
    assert not [n for n in _variable_names() if 'Mixed' in n]


def test_bad_arguments_name_valid_values():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, SMALL)
    with pytest.raises(ValueError, match='final_endpoint.*Mixed_5c'):
      s3dg.s3dg_base(images, final_endpoint='Mixed_6a')
    with pytest.raises(ValueError, match='first_temporal_kernel_size'):
      s3dg.s3dg_base(images, first_temporal_kernel_size=4)
    with pytest.raises(ValueError, match='gating_startat.*Mixed_3b'):
      s3dg.s3dg_base(images, gating_startat='Conv2d_1a_7x7')
    with pytest.raises(ValueError, match='depth_multiplier'):
      s3dg.s3dg_base(images, depth_multiplier=0)
    assert not tf1.global_variables()


def test_depth_multiplier_thins_channels():
  with tf.Graph().as_default():
    _, _, end_points = _build('s3dg', num_classes=5, depth_multiplier=0.5,
                              final_endpoint='Mixed_3b',
                              spatial_squeeze=False)
    # max(int(d * 0.5), 16) per branch: 32 + 64 + 16 + 16.
    assert end_points['Mixed_3b'].shape.as_list()[-1] == 128


def test_center_initializer_makes_identity():
  init = i3d_utils.center_initializer()
  with tf.Graph().as_default(), tf1.Session() as sess:
    kernel = sess.run(init([3, 1, 1, 4, 4]))
  assert kernel.shape == (3, 1, 1, 4, 4)
  np.testing.assert_array_equal(kernel[1, 0, 0], np.eye(4))
  assert not kernel[0].any() and not kernel[2].any()
  with pytest.raises(ValueError, match='odd'):
    init([2, 1, 1, 4, 4])
  with pytest.raises(ValueError, match='channels'):
    init([3, 1, 1, 4, 5])


def test_reduced_kernel_size_3d():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [1, 1, 2, 9, 3])
    assert i3d_utils.reduced_kernel_size_3d(x, [2, 7, 7]) == [1, 2, 7]
    y = tf1.placeholder(tf.float32, [1, None, 2, 9, 3])
    assert i3d_utils.reduced_kernel_size_3d(y, [2, 7, 7]) == [2, 7, 7]


def test_s3dg_ncdhw_graph():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, 3, 8, 64, 64])
    with slim.arg_scope(s3dg.s3dg_arg_scope()):
      logits, end_points = s3dg.s3dg(images, num_classes=5,
                                     data_format='NCDHW')
    assert end_points['Mixed_5c'].shape.as_list() == [1, 1024, 1, 2, 2]
    assert logits.shape.as_list() == [1, 5]
