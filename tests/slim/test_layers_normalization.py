"""Tests of slim/layers/normalization.py (batch_norm, layer_norm) vs numpy."""
import numpy as np
import pytest
import tensorflow as tf

import slim
from tests.slim.layers_harness import variable_names as _names

tf1 = tf.compat.v1
RNG = np.random.RandomState(1)
EPS = 0.001
DECAY = 0.9


def _rand(*shape, scale=1.0, shift=0.0):
  return (RNG.uniform(-1, 1, shape) * scale + shift).astype(np.float32)


def _np_bn(x, mean, var, beta=0.0, gamma=1.0, eps=EPS):
  return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _stats(x, axes):
  """Batch mean, biased and unbiased variance over `axes` (float64)."""
  x = x.astype(np.float64)
  n = np.prod([x.shape[a] for a in axes])
  var = x.var(axis=axes)
  return x.mean(axis=axes), var, var * n / (n - 1)


def _moving(session):
  """The values of the (only) moving_mean and moving_variance."""
  values = {v.op.name.split('/')[-1]: v
            for v in tf1.get_collection(tf1.GraphKeys.MODEL_VARIABLES)}
  return session.run([values['moving_mean'], values['moving_variance']])


# ------------------------------------------------------------ variables


def test_variables_default_scale_false():
  with tf.Graph().as_default():
    slim.batch_norm(tf1.placeholder(tf.float32, [2, 5, 7, 3]))
    shapes = [(v.op.name, v.shape.as_list()) for v in tf1.global_variables()]
    assert shapes == [('BatchNorm/beta', [3]), ('BatchNorm/moving_mean', [3]),
                      ('BatchNorm/moving_variance', [3])]
    assert _names(tf1.GraphKeys.TRAINABLE_VARIABLES) == ['BatchNorm/beta']
    assert _names(tf1.GraphKeys.MODEL_VARIABLES) == [
        'BatchNorm/beta', 'BatchNorm/moving_mean', 'BatchNorm/moving_variance']


def test_variable_order_follows_tf_slim_paths():
  # Default path (tf.layers in TF-Slim): gamma first. TF-Slim's own fused and
  # legacy paths (custom updates_collections, rank 2): beta first.
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    slim.batch_norm(x, scale=True, scope='a')
    slim.batch_norm(x, scale=True, updates_collections=None, scope='b')
    slim.batch_norm(tf1.placeholder(tf.float32, [2, 3]), scale=True,
                    scope='c')
    names = [n.split('/', 1)[1] for n in _names()]
    assert names[:4] == ['gamma', 'beta', 'moving_mean', 'moving_variance']
    assert names[4:8] == ['beta', 'gamma', 'moving_mean', 'moving_variance']
    assert names[8:] == ['beta', 'gamma', 'moving_mean', 'moving_variance']


def test_variables_collections_dict_and_param_initializers():
  with tf.Graph().as_default():
    y = slim.batch_norm(
        tf.constant(_rand(2, 3, 4, 3)), scale=True, is_training=False,
        variables_collections={'beta': ['b'], 'moving_mean': ['m']},
        param_initializers={'beta': tf1.constant_initializer(2.0),
                            'moving_variance': tf1.constant_initializer(4.0)},
        scope='bn')
    assert _names('b') == ['bn/beta']
    assert _names('m') == ['bn/moving_mean']
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      by_name = {v.op.name: v for v in tf1.global_variables()}
      beta, var = sess.run([by_name['bn/beta'], by_name['bn/moving_variance']])
      sess.run(y)
    np.testing.assert_array_equal(beta, [2.0] * 3)
    np.testing.assert_array_equal(var, [4.0] * 3)


def test_reuse_and_regularizers():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    slim.batch_norm(x, scale=True, scope='bn',
                    param_regularizers={'gamma': slim.l2_regularizer(1.0)})
    slim.batch_norm(x, scale=True, scope='bn', reuse=True)
    assert len(tf1.global_variables()) == 4
    assert len(tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)) == 1


# ------------------------------------------------------------- training


@pytest.mark.parametrize('fused', [None, False])
@pytest.mark.parametrize('shape', [(4, 3, 5, 2), (6, 3), (3, 4, 2)])
def test_training_uses_batch_stats_and_update_ops(fused, shape):
  xv = _rand(*shape, scale=2.0, shift=1.5)
  axes = tuple(range(len(shape) - 1))
  mean, var_biased, var_unbiased = _stats(xv, axes)
  with tf.Graph().as_default():
    y = slim.batch_norm(tf.constant(xv), decay=DECAY, center=True, scale=True,
                        fused=fused, activation_fn=tf.nn.relu)
    updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      np.testing.assert_allclose(sess.run(y),
                                 np.maximum(_np_bn(xv, mean, var_biased), 0),
                                 rtol=1e-4, atol=1e-4)
      # The output alone does not move the statistics; the update ops do.
      np.testing.assert_array_equal(_moving(sess)[0], np.zeros(shape[-1]))
      sess.run(updates)
      moving_mean, moving_var = _moving(sess)
  # The fused kernel (4-D, or 2-D made 4-D) reports the unbiased variance.
  uses_fused_kernel = fused is None and len(shape) in (2, 4)
  batch_var = var_unbiased if uses_fused_kernel else var_biased
  np.testing.assert_allclose(moving_mean, 0 - (1 - DECAY) * (0 - mean),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(moving_var, 1 - (1 - DECAY) * (1 - batch_var),
                             rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('fused', [True, False])
def test_in_place_updates_with_updates_collections_none(fused):
  xv = _rand(4, 3, 5, 2, scale=2.0, shift=-1.0)
  mean, var_biased, var_unbiased = _stats(xv, (0, 1, 2))
  with tf.Graph().as_default():
    y = slim.batch_norm(tf.constant(xv), decay=DECAY, fused=fused,
                        updates_collections=None)
    assert not tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      out = sess.run(y)
      moving_mean, moving_var = _moving(sess)
      sess.run(y)
      moving_mean_2, _ = _moving(sess)
  np.testing.assert_allclose(out, _np_bn(xv, mean, var_biased), rtol=1e-4,
                             atol=1e-4)
  batch_var = var_unbiased if fused else var_biased
  np.testing.assert_allclose(moving_mean, (1 - DECAY) * mean, rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(moving_var, 1 - (1 - DECAY) * (1 - batch_var),
                             rtol=1e-5, atol=1e-6)
  # Second step: m2 = m1 - (1 - d) (m1 - mean).
  np.testing.assert_allclose(
      moving_mean_2, moving_mean - (1 - DECAY) * (moving_mean - mean),
      rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('fused', [None, False])
def test_inference_uses_moving_stats(fused):
  xv = _rand(2, 3, 4, 3)
  mm, mv = np.array([0.5, -1.0, 2.0]), np.array([4.0, 0.25, 1.5])
  beta, gamma = np.array([0.1, 0.2, 0.3]), np.array([2.0, 3.0, -1.0])
  with tf.Graph().as_default():
    y = slim.batch_norm(
        tf.constant(xv), scale=True, is_training=False, fused=fused,
        param_initializers={
            'moving_mean': tf1.constant_initializer(mm),
            'moving_variance': tf1.constant_initializer(mv),
            'beta': tf1.constant_initializer(beta),
            'gamma': tf1.constant_initializer(gamma)})
    assert not tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      got = sess.run(y)
  np.testing.assert_allclose(got, _np_bn(xv, mm, mv, beta, gamma), rtol=1e-5,
                             atol=1e-5)


@pytest.mark.parametrize('fused', [None, False])
@pytest.mark.parametrize('updates_collections',
                         [tf1.GraphKeys.UPDATE_OPS, None])
def test_is_training_tensor(fused, updates_collections):
  xv = _rand(4, 2, 3, 2, scale=3.0, shift=1.0)
  mean, var_biased, _ = _stats(xv, (0, 1, 2))
  with tf.Graph().as_default():
    training = tf1.placeholder(tf.bool, [])
    y = slim.batch_norm(tf.constant(xv), decay=DECAY, is_training=training,
                        fused=fused, updates_collections=updates_collections)
    updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      # Inference: moving stats are still 0 / 1, and nothing moves.
      got = sess.run([y] + updates, {training: False})[0]
      np.testing.assert_allclose(got, _np_bn(xv, 0.0, 1.0), rtol=1e-5,
                                 atol=1e-5)
      np.testing.assert_array_equal(_moving(sess)[0], np.zeros(2))
      # Training: batch statistics, and the moving mean moves.
      got = sess.run([y] + updates, {training: True})[0]
      np.testing.assert_allclose(got, _np_bn(xv, mean, var_biased),
                                 rtol=1e-4, atol=1e-4)
      np.testing.assert_allclose(_moving(sess)[0], (1 - DECAY) * mean,
                                 rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('is_training', [True, False])
def test_fused_equals_unfused(is_training):
  xv = _rand(3, 4, 5, 3, scale=2.0, shift=0.5)
  outs = []
  for fused in (True, False):
    with tf.Graph().as_default():
      init = {'moving_mean': tf1.constant_initializer([0.1, 0.2, 0.3]),
              'moving_variance': tf1.constant_initializer([1.5, 0.5, 2.0]),
              'gamma': tf1.constant_initializer([1.0, 2.0, 0.5])}
      y = slim.batch_norm(tf.constant(xv), scale=True, fused=fused,
                          is_training=is_training, param_initializers=init)
      with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        outs.append(sess.run(y))
  np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('fused', [None, False])
def test_nchw_matches_nhwc(fused):
  xv = _rand(2, 3, 4, 5, scale=2.0)
  mean, var_biased, _ = _stats(xv, (0, 2, 3))
  with tf.Graph().as_default():
    y = slim.batch_norm(tf.constant(xv), data_format='NCHW', fused=fused)
    assert tf1.global_variables()[0].shape.as_list() == [3]
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      got = sess.run(y)
  want = _np_bn(xv, mean[None, :, None, None], var_biased[None, :, None, None])
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_zero_debias_moving_mean():
  xv = _rand(4, 3, 3, 2, shift=2.0)
  mean, _, _ = _stats(xv, (0, 1, 2))
  with tf.Graph().as_default():
    slim.batch_norm(tf.constant(xv), decay=DECAY,
                    zero_debias_moving_mean=True)
    # TF-Slim opened the debias scope by the variable's full name inside
    # the layer's scope, so checkpoints hold the doubled prefix.
    assert {'BatchNorm/BatchNorm/moving_mean/biased',
            'BatchNorm/BatchNorm/moving_mean/local_step'} <= set(_names())
    updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run(updates)
      # After one step, biased = (1 - d) mean, debiased = biased / (1 - d).
      np.testing.assert_allclose(_moving(sess)[0], mean, rtol=1e-5)


def test_batch_weights():
  xv = _rand(4, 3)
  weights = np.array([1.0, 0.0, 2.0, 1.0], np.float32)
  w = weights[:, None]
  mean = (xv * w).sum(0) / w.sum()
  var = (w * (xv - mean) ** 2).sum(0) / w.sum()
  with tf.Graph().as_default():
    y = slim.batch_norm(tf.constant(xv), batch_weights=weights)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      got = sess.run(y)
  np.testing.assert_allclose(got, _np_bn(xv, mean, var), rtol=1e-4,
                             atol=1e-4)


def test_adjustment_only_in_training():
  xv = _rand(4, 3, scale=2.0)
  mean, var, _ = _stats(xv, (0,))
  adjust = lambda shape: (tf.constant(2.0), tf.constant(0.5))
  with tf.Graph().as_default():
    train = slim.batch_norm(tf.constant(xv), adjustment=adjust, scope='t')
    infer = slim.batch_norm(tf.constant(xv), adjustment=adjust,
                            is_training=False, scope='i')
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      got_train, got_infer = sess.run([train, infer])
  np.testing.assert_allclose(got_train, _np_bn(xv, mean, var) * 2.0 + 0.5,
                             rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(got_infer, _np_bn(xv, 0.0, 1.0), rtol=1e-5)


def test_batch_norm_errors():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    with pytest.raises(ValueError, match='data_format'):
      slim.batch_norm(x, data_format='NCDHW')
    with pytest.raises(ValueError, match='rank'):
      slim.batch_norm(tf1.placeholder(tf.float32, [3]))
    with pytest.raises(ValueError, match='rank'):
      slim.batch_norm(tf1.placeholder(tf.float32))
    with pytest.raises(ValueError, match='channel'):
      slim.batch_norm(tf1.placeholder(tf.float32, [2, 3, None]))
    with pytest.raises(NotImplementedError, match='renorm'):
      slim.batch_norm(x, renorm=True)


# ----------------------------------------------------------- layer_norm


@pytest.mark.parametrize('begin_norm_axis,begin_params_axis', [
    (1, -1), (-1, -1), (2, 1), (1, 2)])
def test_layer_norm(begin_norm_axis, begin_params_axis):
  xv = _rand(2, 3, 4, 5, scale=2.0, shift=1.0)
  with tf.Graph().as_default():
    rank = 4
    params_shape = list(xv.shape[begin_params_axis % rank:])
    beta = _rand(*params_shape)
    gamma = _rand(*params_shape)
    y = slim.layer_norm(tf.constant(xv), begin_norm_axis=begin_norm_axis,
                        begin_params_axis=begin_params_axis)
    shapes = [(v.op.name, v.shape.as_list()) for v in tf1.global_variables()]
    assert shapes == [('LayerNorm/beta', params_shape),
                      ('LayerNorm/gamma', params_shape)]
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      tf1.global_variables()[0].load(beta, sess)
      tf1.global_variables()[1].load(gamma, sess)
      got = sess.run(y)
  axes = tuple(range(begin_norm_axis % rank, rank))
  x64 = xv.astype(np.float64)
  mean = x64.mean(axis=axes, keepdims=True)
  var = x64.var(axis=axes, keepdims=True)
  want = (x64 - mean) / np.sqrt(var + 1e-12) * gamma + beta
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('epsilon', [None, 1e-6, 0.5])
def test_layer_norm_epsilon(epsilon):
  # Variances near the epsilons tell them apart: U(-0.01, 0.01) has 3e-5,
  # so 1e-6 moves the output by 1.5%, more than the tolerance.
  xv = _rand(2, 8, scale=0.01)
  with tf.Graph().as_default():
    y = slim.layer_norm(tf.constant(xv), center=False, scale=False,
                        begin_norm_axis=-1, epsilon=epsilon)
    with tf1.Session() as sess:
      got = sess.run(y)
  x64 = xv.astype(np.float64)
  var = x64.var(axis=-1, keepdims=True)
  want = (x64 - x64.mean(axis=-1, keepdims=True)) / np.sqrt(
      var + (1e-12 if epsilon is None else epsilon))
  np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)


def test_layer_norm_no_params_and_errors():
  with tf.Graph().as_default():
    slim.layer_norm(tf1.placeholder(tf.float32, [2, 3]), center=False,
                    scale=False)
    assert not tf1.global_variables()
    with pytest.raises(ValueError, match='begin_norm_axis'):
      slim.layer_norm(tf1.placeholder(tf.float32, [2, 3]), begin_norm_axis=2)
    with pytest.raises(ValueError, match='rank'):
      slim.layer_norm(tf1.placeholder(tf.float32))
    with pytest.raises(ValueError, match='fully'):
      slim.layer_norm(tf1.placeholder(tf.float32, [2, None]))


# ---------------------------------------------- local_response_normalization


def _np_lrn(x, depth_radius, bias, alpha, beta):
  """LRN as its definition reads: each channel over its window's squares."""
  x = x.astype(np.float64)
  channels = x.shape[-1]
  out = np.empty_like(x)
  for c in range(channels):
    window = x[..., max(0, c - depth_radius):c + depth_radius + 1]
    out[..., c] = x[..., c] / (bias + alpha * (window ** 2).sum(-1)) ** beta
  return out


@pytest.mark.parametrize('depth_radius,bias,alpha,beta,channels', [
    (4, 1.0, 0.001 / 9.0, 0.75, 64),  # CifarNet's
    (2, 2.0, 0.01, 0.5, 7),
    (5, 1.0, 0.05, 1.3, 4),           # window wider than the channels
])
def test_local_response_normalization_matches_lrn(depth_radius, bias, alpha,
                                                   beta, channels):
  x_value = _rand(2, 3, 5, channels, scale=20.0)
  upstream = _rand(2, 3, 5, channels)
  params = dict(depth_radius=depth_radius, bias=bias, alpha=alpha, beta=beta)
  with tf.Graph().as_default():
    x = tf.constant(x_value)
    ours = slim.local_response_normalization(x, **params)
    reference = tf.nn.lrn(x, **params)
    grads = [tf.gradients(y, x, upstream)[0] for y in (ours, reference)]
    with tf1.Session() as sess:
      out, grad, ref_grad = sess.run([ours, *grads])
  np.testing.assert_allclose(out, _np_lrn(x_value, **params), rtol=2e-6,
                             atol=1e-6)
  # TensorFlow's LRNGrad kernel is the independent reference for gradients.
  np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-5)


def test_local_response_normalization_needs_4d_known_channels():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=r'4-D .*received shape \(2, 3\)'):
      slim.local_response_normalization(tf.zeros([2, 3]))
    with pytest.raises(ValueError, match='known channel count'):
      slim.local_response_normalization(
          tf1.placeholder(tf.float32, [2, 3, 3, None]))
