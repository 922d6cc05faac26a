"""Tests of slim/layers/conv.py against numpy references (layers_reference)."""
import numpy as np
import pytest
import tensorflow as tf

import slim
from tests.slim import layers_reference as ref
from tests.slim.layers_harness import run_initialized as _run
from tests.slim.layers_harness import variable_names as _names

tf1 = tf.compat.v1
RNG = np.random.RandomState(0)


def _rand(*shape):
  return RNG.uniform(-1, 1, shape).astype(np.float32)


# ------------------------------------------------------------ variables


def test_conv2d_variables_names_shapes_collections():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    slim.conv2d(x, 64, [3, 3], scope='conv1')
    shapes = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
    assert shapes == {'conv1/weights': [3, 3, 3, 64], 'conv1/biases': [64]}
    assert _names(tf1.GraphKeys.MODEL_VARIABLES) == ['conv1/weights',
                                                     'conv1/biases']
    assert _names(tf1.GraphKeys.TRAINABLE_VARIABLES) == ['conv1/weights',
                                                         'conv1/biases']


def test_conv2d_default_scope_and_no_biases():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    slim.conv2d(x, 4, 3)
    slim.conv2d(x, 4, 3, biases_initializer=None)
    assert _names() == ['Conv/weights', 'Conv/biases', 'Conv_1/weights']


def test_conv2d_with_batch_norm_has_no_biases():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    slim.conv2d(x, 8, [3, 3], scope='conv1', normalizer_fn=slim.batch_norm)
    assert _names() == ['conv1/weights', 'conv1/BatchNorm/beta',
                        'conv1/BatchNorm/moving_mean',
                        'conv1/BatchNorm/moving_variance']


def test_variables_collections_list_and_dict_and_trainable():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    slim.conv2d(x, 4, [3, 3], variables_collections=['mine'], scope='a')
    slim.conv2d(x, 4, [3, 3], variables_collections={'weights': ['w']},
                trainable=False, scope='b')
    assert _names('mine') == ['a/weights', 'a/biases']
    assert _names('w') == ['b/weights']
    assert _names(tf1.GraphKeys.TRAINABLE_VARIABLES) == ['a/weights',
                                                         'a/biases']


def test_regularizer_adds_loss():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    w = _rand(3, 3, 3, 4)
    slim.conv2d(x, 4, [3, 3], weights_initializer=tf1.constant_initializer(w),
                weights_regularizer=slim.l2_regularizer(0.5))
    losses = tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 1
    # l2_regularizer(s)(w) = s * sum(w^2) / 2.
    np.testing.assert_allclose(_run(losses[0]), 0.5 * np.sum(w ** 2) / 2,
                               rtol=1e-5)


def test_reuse_shares_variables_and_arg_scope_applies():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    with slim.arg_scope([slim.conv2d], activation_fn=None, padding='VALID'):
      a = slim.conv2d(x, 4, [3, 3], scope='conv1')
      b = slim.conv2d(x, 4, [3, 3], scope='conv1', reuse=True)
    assert _names() == ['conv1/weights', 'conv1/biases']
    assert a.shape.as_list() == [2, 3, 5, 4]
    assert a.op.name == 'conv1/BiasAdd'
    xv = _rand(2, 5, 7, 3)
    va, vb = _run([a, b], {x: xv})
    np.testing.assert_array_equal(va, vb)


def test_op_names_match_tf_slim():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    with tf1.variable_scope('InceptionV3'):
      y = slim.conv2d(x, 4, [1, 1], activation_fn=None, normalizer_fn=None,
                      scope='Conv2d_1c_1x1')
      z = slim.conv2d(x, 4, [3, 3], scope='conv1')
    ops = {op.name for op in tf1.get_default_graph().get_operations()}
    assert y.op.name == 'InceptionV3/Conv2d_1c_1x1/BiasAdd'
    assert z.op.name == 'InceptionV3/conv1/Relu'
    assert {'InceptionV3/conv1/Conv2D', 'InceptionV3/conv1/BiasAdd'} <= ops


# ------------------------------------------------------------- numerics


@pytest.mark.parametrize('stride,rate,padding', [
    (1, 1, 'SAME'), (2, 1, 'SAME'), (1, 1, 'VALID'), (2, 1, 'valid'),
    (1, 2, 'SAME'), (1, 2, 'VALID'), ([1, 2], 1, 'same'), (3, 1, 'SAME')])
def test_conv2d_numerics(stride, rate, padding):
  xv, w, b = _rand(2, 5, 7, 3), _rand(3, 3, 3, 4), _rand(4)
  with tf.Graph().as_default():
    y = slim.conv2d(tf.constant(xv), 4, [3, 3], stride=stride, rate=rate,
                    padding=padding,
                    weights_initializer=tf1.constant_initializer(w),
                    biases_initializer=tf1.constant_initializer(b))
    got = _run(y)
  want = np.maximum(ref.conv(xv, w, stride, rate, padding) + b, 0)
  assert got.shape == want.shape
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_conv2d_nchw_matches_nhwc():
  xv, w = _rand(2, 5, 7, 3), _rand(3, 3, 3, 4)
  with tf.Graph().as_default():
    y = slim.conv2d(tf.constant(xv.transpose(0, 3, 1, 2)), 4, [3, 3],
                    stride=2, data_format='NCHW', activation_fn=None,
                    weights_initializer=tf1.constant_initializer(w),
                    biases_initializer=tf1.constant_initializer(0.5))
    got = _run(y)
  want = ref.conv(xv, w, 2, 1, 'SAME') + 0.5
  np.testing.assert_allclose(got, want.transpose(0, 3, 1, 2), rtol=1e-5,
                             atol=1e-5)


@pytest.mark.parametrize('layer,shape,kernel', [
    (slim.conv1d, (2, 9, 3), [3]),
    (slim.conv3d, (2, 4, 5, 6, 2), [2, 3, 3]),
    (slim.convolution, (2, 9, 3), 3),
    (slim.convolution, (2, 4, 5, 6, 2), [2, 3, 3]),
])
def test_conv1d_conv3d_numerics(layer, shape, kernel):
  xv = _rand(*shape)
  n = len(shape) - 2
  kernel_list = kernel if isinstance(kernel, list) else [kernel] * n
  w = _rand(*kernel_list, shape[-1], 5)
  with tf.Graph().as_default():
    y = layer(tf.constant(xv), 5, kernel, stride=2, activation_fn=None,
              weights_initializer=tf1.constant_initializer(w))
    got = _run(y)
  np.testing.assert_allclose(got, ref.conv(xv, w, 2, 1, 'SAME'), rtol=1e-5,
                             atol=1e-5)


def test_separable_depthwise_only():
  xv, w, b = _rand(2, 5, 7, 3), _rand(3, 3, 3, 2), _rand(6)
  with tf.Graph().as_default():
    y = slim.separable_conv2d(
        tf.constant(xv), None, [3, 3], depth_multiplier=2, stride=2,
        activation_fn=None, weights_initializer=tf1.constant_initializer(w),
        biases_initializer=tf1.constant_initializer(b), scope='dw')
    assert _names() == ['dw/depthwise_weights', 'dw/biases']
    got = _run(y)
  want = ref.depthwise_conv(xv, w, 2, 1, 'SAME') + b
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('rate,padding', [(1, 'SAME'), (2, 'SAME'),
                                          (1, 'VALID')])
def test_separable_with_pointwise(rate, padding):
  xv, dw, pw = _rand(2, 5, 7, 3), _rand(3, 3, 3, 2), _rand(1, 1, 6, 4)
  with tf.Graph().as_default():
    y = slim.separable_conv2d(
        tf.constant(xv), 4, [3, 3], depth_multiplier=2, rate=rate,
        padding=padding, weights_initializer=tf1.constant_initializer(dw),
        pointwise_initializer=tf1.constant_initializer(pw), scope='sep')
    shapes = [(v.op.name, v.shape.as_list()) for v in tf1.global_variables()]
    assert shapes == [('sep/depthwise_weights', [3, 3, 3, 2]),
                      ('sep/pointwise_weights', [1, 1, 6, 4]),
                      ('sep/biases', [4])]
    got = _run(y)
  depthwise = ref.depthwise_conv(xv, dw, 1, rate, padding)
  want = np.maximum(ref.conv(depthwise, pw, 1, 1, 'VALID'), 0)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_conv2d_in_plane():
  xv, w = _rand(2, 5, 7, 3), _rand(3, 3, 1, 1)
  with tf.Graph().as_default():
    y = slim.conv2d_in_plane(tf.constant(xv), [3, 3], activation_fn=None,
                             weights_initializer=tf1.constant_initializer(w))
    assert [v.shape.as_list() for v in tf1.global_variables()] == [
        [3, 3, 1, 1], [3]]
    assert _names()[0] == 'ConvInPlane/weights'
    got = _run(y)
  want = np.concatenate([ref.conv(xv[..., c:c + 1], w) for c in range(3)],
                        axis=-1)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('stride,padding', [(2, 'SAME'), (2, 'VALID'),
                                            (1, 'SAME'), (3, 'valid')])
def test_conv2d_transpose(stride, padding):
  xv, w, b = _rand(2, 3, 4, 3), _rand(3, 3, 2, 3), _rand(2)
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [None, 3, 4, 3])
    y = slim.conv2d_transpose(
        x, 2, [3, 3], stride=stride, padding=padding, activation_fn=None,
        weights_initializer=tf1.constant_initializer(w),
        biases_initializer=tf1.constant_initializer(b), scope='deconv')
    assert _names() == ['deconv/weights', 'deconv/biases']
    got = _run(y, {x: xv})
  want = ref.conv_transpose(xv, w, stride, padding.upper()) + b
  assert y.shape.as_list() == [None] + list(want.shape[1:])
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_conv3d_transpose():
  xv, w = _rand(1, 2, 3, 2, 2), _rand(2, 2, 2, 3, 2)
  with tf.Graph().as_default():
    y = slim.conv3d_transpose(tf.constant(xv), 3, [2, 2, 2], stride=2,
                              activation_fn=None,
                              weights_initializer=tf1.constant_initializer(w))
    assert _names() == ['Conv3d_transpose/weights', 'Conv3d_transpose/biases']
    got = _run(y)
  want = ref.conv_transpose(xv, w, 2, 'SAME')
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------- errors


@pytest.mark.parametrize('call,match', [
    (lambda x: slim.conv2d(x[0], 4, 3), 'rank 4'),
    (lambda x: slim.conv1d(x, 4, 3), 'rank 3'),
    (lambda x: slim.convolution(x[0, 0], 4, 3), 'rank'),
    (lambda x: slim.conv2d(x, 4, 3, padding='FULL'), 'padding'),
    (lambda x: slim.conv2d(x, 4, 3, data_format='NHCW'), 'data_format'),
    (lambda x: slim.conv2d(x, 4, 3, data_format='NDHWC'), 'data_format'),
    (lambda x: slim.conv2d(x, 4, 3, stride=2, rate=2), 'rate'),
    (lambda x: slim.conv2d(x, 4, [3, 3, 3]), 'kernel_size'),
    (lambda x: slim.conv2d(x, 0, 3), 'num_outputs'),
    (lambda x: slim.separable_conv2d(x, 4, 3, data_format='NCW'),
     'data_format'),
    (lambda x: slim.separable_conv2d(x, 4, 3, padding='x'), 'padding'),
    (lambda x: slim.separable_conv2d(x[0], 4, 3), 'rank 4'),
    (lambda x: slim.conv2d_transpose(x, 4, 3, data_format='NWC'),
     'data_format'),
    (lambda x: slim.conv2d_transpose(x[0], 4, 3), 'rank 4'),
    (lambda x: slim.conv2d_in_plane(x[0], 3), 'rank 4'),
])
def test_errors_name_the_argument(call, match):
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    with pytest.raises(ValueError, match=match):
      call(x)


# ------------------------------------- a kernel covering its whole input


@pytest.mark.parametrize('input_size,kernel,padding,stride', [
    (5, 5, 'VALID', 1),  # VGG's fc6: VALID 7x7 over 7x7
    (1, 1, 'SAME', 2),   # fc7/fc8 and the logits: 1x1 over 1x1
])
def test_conv_covering_its_input_is_a_matmul_with_the_same_results(
    input_size, kernel, padding, stride):
  x_value = _rand(3, input_size, input_size, 4)
  upstream = _rand(3, 1, 1, 6)
  with tf.Graph().as_default() as graph:
    x = tf.constant(x_value)
    y = slim.conv2d(x, 6, [kernel, kernel], stride, padding=padding,
                    activation_fn=tf.nn.relu6, scope='fc')
    types = {op.type for op in graph.get_operations()
             if op.name.startswith('fc/')}
    weights, biases = slim.get_variables('fc')
    grads = tf.gradients(y, [x, weights, biases], upstream)
    y_value, w_value, b_value, *grad_values = _run([y, weights, biases,
                                                    *grads])
  assert 'MatMul' in types and 'Conv2D' not in types
  assert y.shape.as_list() == [3, 1, 1, 6]
  expected = np.clip(ref.conv(x_value, w_value, stride, padding=padding) +
                     b_value, 0, 6)
  np.testing.assert_allclose(y_value, expected, rtol=1e-5, atol=1e-5)
  # Gradients against the convolution op's own.
  with tf.Graph().as_default():
    x = tf.constant(x_value)
    w = tf.constant(w_value)
    b = tf.constant(b_value)
    conv = tf.nn.relu6(tf.nn.conv2d(x, w, stride, padding) + b)
    expected_grads = _run(tf.gradients(conv, [x, w, b], upstream))
  for got, want in zip(grad_values, expected_grads):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('kwargs', [
    dict(normalizer_fn=slim.batch_norm),  # 4-D batch norm, as before
    dict(padding='SAME'),                 # output 5x5, not one position
    dict(rate=2, padding='SAME'),
])
def test_other_convs_stay_convolutions(kwargs):
  with tf.Graph().as_default() as graph:
    y = slim.conv2d(tf.zeros([2, 5, 5, 3]), 4, [5, 5], scope='c', **kwargs)
    types = {op.type for op in graph.get_operations()}
  assert 'Conv2D' in types and 'MatMul' not in types
  assert y.shape.as_list()[0] == 2
