"""Tests of slim/layers core, pooling and utils against numpy references."""
import numpy as np
import pytest
import tensorflow as tf

import slim
from tests.slim import layers_reference as ref
from tests.slim.layers_harness import run_initialized as _run
from tests.slim.layers_harness import variable_names as _names

tf1 = tf.compat.v1
RNG = np.random.RandomState(2)


def _rand(*shape):
  return RNG.uniform(-1, 1, shape).astype(np.float32)


# ------------------------------------------------------- fully_connected


def test_fully_connected_variables_ops_and_numerics():
  xv, w, b = _rand(2, 5), _rand(5, 3), _rand(3)
  with tf.Graph().as_default():
    y = slim.fully_connected(tf.constant(xv), 3, scope='fc',
                             weights_initializer=tf1.constant_initializer(w),
                             biases_initializer=tf1.constant_initializer(b))
    shapes = [(v.op.name, v.shape.as_list()) for v in tf1.global_variables()]
    assert shapes == [('fc/weights', [5, 3]), ('fc/biases', [3])]
    assert _names(tf1.GraphKeys.MODEL_VARIABLES) == ['fc/weights',
                                                     'fc/biases']
    ops = {op.name for op in tf1.get_default_graph().get_operations()}
    assert {'fc/MatMul', 'fc/BiasAdd', 'fc/Relu'} <= ops
    assert y.op.name == 'fc/Relu'
    got = _run(y)
  np.testing.assert_allclose(got, np.maximum(xv @ w + b, 0), rtol=1e-5,
                             atol=1e-6)


def test_fully_connected_rank3_acts_on_last_dim():
  xv, w = _rand(2, 4, 5), _rand(5, 3)
  with tf.Graph().as_default():
    y = slim.fully_connected(tf.constant(xv), 3, activation_fn=None,
                             weights_initializer=tf1.constant_initializer(w))
    assert y.shape.as_list() == [2, 4, 3]
    assert _names() == ['fully_connected/weights', 'fully_connected/biases']
    got = _run(y)
  np.testing.assert_allclose(got, xv @ w, rtol=1e-5, atol=1e-6)


def test_fully_connected_normalizer_and_legacy_names():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5])
    y = slim.fully_connected(x, 3, normalizer_fn=slim.batch_norm, scope='a')
    z = slim.linear(x, 3, scope='b')
    slim.relu6(x, 3, scope='c')
    assert _names() == ['a/weights', 'a/BatchNorm/beta',
                        'a/BatchNorm/moving_mean',
                        'a/BatchNorm/moving_variance', 'b/weights',
                        'b/biases', 'c/weights', 'c/biases']
    assert y.op.name == 'a/Relu'
    assert z.op.name == 'b/BiasAdd'


def test_fully_connected_errors():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='num_outputs'):
      slim.fully_connected(tf1.placeholder(tf.float32, [2, 5]), 2.5)
    with pytest.raises(ValueError, match='rank'):
      slim.fully_connected(tf1.placeholder(tf.float32, [5]), 3)
    with pytest.raises(ValueError, match='last dimension'):
      slim.fully_connected(tf1.placeholder(tf.float32, [2, None]), 3)


def test_bias_add():
  xv = _rand(2, 3, 4)
  with tf.Graph().as_default():
    y = slim.bias_add(tf.constant(xv), activation_fn=tf.nn.relu,
                      initializer=tf1.constant_initializer([1., -1., 0.5, 0.]))
    assert _names() == ['BiasAdd/biases']
    got = _run(y)
    with pytest.raises(ValueError, match='NCHW'):
      slim.bias_add(tf.constant(xv), data_format='NCHW')
    with pytest.raises(ValueError, match='data_format'):
      slim.bias_add(tf.constant(xv), data_format='NC')
  np.testing.assert_allclose(got, np.maximum(xv + [1., -1., 0.5, 0.], 0))


# --------------------------------------------------------------- pooling


@pytest.mark.parametrize('layer,mode', [(slim.max_pool2d, 'max'),
                                        (slim.avg_pool2d, 'avg')])
@pytest.mark.parametrize('kernel,stride,padding', [
    ([2, 2], 2, 'VALID'), (3, 1, 'SAME'), ([3, 2], [2, 1], 'same'),
    (3, 2, 'valid')])
def test_pool2d(layer, mode, kernel, stride, padding):
  xv = _rand(2, 5, 7, 3)
  with tf.Graph().as_default():
    y = layer(tf.constant(xv), kernel, stride=stride, padding=padding)
    got = _run(y)
  want = ref.pool(xv, kernel, stride, padding.upper(), mode)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('layer,mode', [(slim.max_pool3d, 'max'),
                                        (slim.avg_pool3d, 'avg')])
def test_pool3d(layer, mode):
  xv = _rand(1, 4, 5, 3, 2)
  with tf.Graph().as_default():
    got = _run(layer(tf.constant(xv), [2, 2, 2], stride=[1, 2, 1],
                     padding='SAME'))
  np.testing.assert_allclose(got, ref.pool(xv, 2, [1, 2, 1], 'SAME', mode),
                             rtol=1e-5, atol=1e-6)


def test_pool_defaults_names_and_nchw():
  xv = _rand(2, 5, 7, 3)
  with tf.Graph().as_default():
    a = slim.max_pool(tf.constant(xv), [2, 2])  # README spelling.
    b = slim.avg_pool2d(tf.constant(xv), 2)
    c = slim.max_pool2d(tf.constant(xv.transpose(0, 3, 1, 2)), [2, 2],
                        data_format='NCHW', scope='pool1')
    assert a.op.name == 'MaxPool2D/MaxPool'
    assert b.op.name == 'AvgPool2D/AvgPool'
    assert c.op.name == 'pool1/MaxPool'
    got_a, got_c = _run([a, c])
  np.testing.assert_array_equal(got_c, got_a.transpose(0, 3, 1, 2))


@pytest.mark.parametrize('call,match', [
    (lambda x: slim.max_pool2d(x[0], 2), 'rank 4'),
    (lambda x: slim.avg_pool2d(x, 2, padding='FULL'), 'padding'),
    (lambda x: slim.max_pool2d(x, 2, data_format='NDHWC'), 'data_format'),
    (lambda x: slim.max_pool3d(x, 2), 'rank 5'),
    (lambda x: slim.avg_pool3d(x, 2, data_format='NHWC'), 'data_format'),
    (lambda x: slim.max_pool2d(x, [2, 2, 2]), 'kernel_size'),
])
def test_pool_errors(call, match):
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    with pytest.raises(ValueError, match=match):
      call(x)


# ------------------------------------------------ dropout / flatten / ...


def test_dropout_training_inference_and_noise_shape():
  xv = np.ones([4, 3, 5, 6], np.float32)
  with tf.Graph().as_default():
    training = tf1.placeholder(tf.bool, [])
    y = slim.dropout(tf.constant(xv), keep_prob=0.5, is_training=training,
                     noise_shape=[4, 1, 1, 6], seed=1)
    z = slim.dropout(tf.constant(xv), is_training=False)
    got_train, got_z = _run([y, z], {training: True})
    got_test = _run(y, {training: False})
  np.testing.assert_array_equal(got_test, xv)
  np.testing.assert_array_equal(got_z, xv)
  assert set(np.unique(got_train)) <= {0.0, 2.0}  # Kept units scaled 1/0.5.
  # noise_shape [4,1,1,6]: one decision per (example, channel).
  assert np.all(got_train == got_train[:, :1, :1, :])


def test_drop_path_drops_whole_examples_in_training_only():
  xv = np.ones([64, 3, 2, 5], np.float32)
  with tf.Graph().as_default():
    training = tf1.placeholder(tf.bool, [])
    y = slim.drop_path(tf.constant(xv), drop_rate=0.25, is_training=training,
                       seed=3)
    x_unknown_batch = tf1.placeholder(tf.float32, [None, 3, 2, 5])
    z = slim.drop_path(x_unknown_batch, drop_rate=0.25, is_training=True)
    none = slim.drop_path(tf.constant(xv), drop_rate=0.0)
    got_train, got_z, got_none = _run(
        [y, z, none], {training: True, x_unknown_batch: xv})
    got_test = _run(y, {training: False})
    with pytest.raises(ValueError, match='drop_rate'):
      slim.drop_path(tf.constant(xv), drop_rate=1.0)
  np.testing.assert_array_equal(got_test, xv)
  np.testing.assert_array_equal(got_none, xv)
  for got in (got_train, got_z):
    # One decision per example: each is all zeros or all 1/(1 - 0.25).
    per_example = got.reshape(64, -1)
    assert np.all(per_example == per_example[:, :1])
    assert set(np.unique(got)) == {0.0, np.float32(1 / 0.75)}


def test_flatten():
  xv = _rand(2, 3, 4, 5)
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [None, 3, 4, 5])
    y = slim.flatten(x)
    assert y.shape.as_list() == [None, 60]
    got = _run(y, {x: xv})
    with pytest.raises(ValueError, match='rank'):
      slim.flatten(tf1.placeholder(tf.float32, [3]))
  np.testing.assert_array_equal(got, xv.reshape(2, 60))


def test_one_hot_encoding():
  with tf.Graph().as_default():
    y = slim.one_hot_encoding(tf.constant([0, 2, 1]), 4, on_value=5.0,
                              off_value=-1.0)
    got = _run(y)
    with pytest.raises(TypeError, match='labels'):
      slim.one_hot_encoding(tf.constant([0.5]), 3)
  want = np.full([3, 4], -1.0)
  want[np.arange(3), [0, 2, 1]] = 5.0
  np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('dim', [0, 1, 2])
def test_unit_norm(dim):
  xv = _rand(2, 3, 4)
  with tf.Graph().as_default():
    got = _run(slim.unit_norm(tf.constant(xv), dim))
    with pytest.raises(ValueError, match='dim'):
      slim.unit_norm(tf.constant(xv), 3)
  x64 = xv.astype(np.float64)
  want = x64 / np.sqrt(1e-7 + (x64 ** 2).sum(axis=dim, keepdims=True))
  np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize('shape', [(2, 5), (2, 3, 4)])
def test_softmax_last_dim_and_op_name(shape):
  xv = _rand(*shape) * 3
  with tf.Graph().as_default():
    with tf1.variable_scope('CifarNet'):
      y = slim.softmax(tf.constant(xv), scope='Predictions')
    assert y.op.name == 'CifarNet/Predictions/Reshape_1'
    got = _run(y)
  e = np.exp(xv - xv.max(-1, keepdims=True))
  np.testing.assert_allclose(got, e / e.sum(-1, keepdims=True), rtol=1e-5)


# ------------------------------------------------------ repeat / stack


def test_repeat_scope_names():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5, 7, 3])
    y = slim.repeat(x, 3, slim.conv2d, 4, [3, 3], scope='conv3')
    assert _names() == [f'conv3/conv3_{i}/{v}' for i in (1, 2, 3)
                        for v in ('weights', 'biases')]
    assert y.op.name == 'conv3/conv3_3/Relu'
    slim.repeat(x, 2, slim.conv2d, 4, [3, 3])
    assert 'Repeat/convolution2d_2/weights' in _names()


def test_stack_scope_names_and_args():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 5])
    y = slim.stack(x, slim.fully_connected, [32, 64, 128], scope='fc')
    assert [(v.op.name, v.shape.as_list()) for v in tf1.global_variables()
            if v.op.name.endswith('weights')] == [
                ('fc/fc_1/weights', [5, 32]), ('fc/fc_2/weights', [32, 64]),
                ('fc/fc_3/weights', [64, 128])]
    assert y.shape.as_list() == [2, 128]
    z = slim.stack(tf1.placeholder(tf.float32, [2, 5, 7, 3]), slim.conv2d,
                   [(8, [3, 3]), (4, [1, 1])], scope='core')
    assert z.op.name == 'core/core_2/Relu'
    assert z.shape.as_list() == [2, 5, 7, 4]
    with pytest.raises(ValueError, match='stack_args'):
      slim.stack(x, slim.fully_connected, 32)


# ------------------------------------------------- outputs_collections


def test_outputs_collections_and_convert_collection_to_dict():
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.float32, [2, 8, 8, 3])
    with tf1.variable_scope('net'):
      with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.flatten,
                           slim.fully_connected, slim.batch_norm],
                          outputs_collections='end_points'):
        a = slim.conv2d(x, 4, [3, 3], scope='conv1')
        b = slim.max_pool2d(a, [2, 2], scope='pool1')
        c = slim.batch_norm(b, scope='bn')
        d = slim.fully_connected(slim.flatten(c, scope='flat'), 5,
                                 scope='logits')
    end_points = slim.utils.convert_collection_to_dict('end_points')
    assert list(end_points) == ['net/conv1', 'net/pool1', 'net/bn',
                                'net/flat', 'net/logits']
    assert end_points['net/conv1'] is a
    assert end_points['net/pool1'] is b
    assert end_points['net/bn'] is c
    assert end_points['net/logits'] is d
    assert slim.convert_collection_to_dict is (
        slim.utils.convert_collection_to_dict)
    slim.utils.convert_collection_to_dict('end_points', clear_collection=True)
    assert not tf1.get_collection('end_points')


def test_every_layer_is_arg_scoped():
  for name in slim.layers.__all__:
    if name in ('repeat', 'stack', 'utils', 'convert_collection_to_dict',
                'linear', 'relu', 'relu6', 'elu'):
      continue
    assert slim.has_arg_scope(getattr(slim, name)), name
