"""The TF-Slim README's "Defining Models" examples, run against `import slim`.

Source: ../shared/seeds/tf_slim_library_README.md, sections Variables,
Layers, Scopes and "Working Example: Specifying the VGG16 Layers". Each
example is written as in the README with `tf.` TF1 calls spelled
`tf.compat.v1`; deviations are commented where they happen. The checks are
the variable names, shapes and collections TF-Slim created, and numbers
recomputed in numpy or with plain `tf.nn` ops.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import slim

tf1 = tf.compat.v1

GLOBAL = tf1.GraphKeys.GLOBAL_VARIABLES
MODEL = tf1.GraphKeys.MODEL_VARIABLES
TRAINABLE = tf1.GraphKeys.TRAINABLE_VARIABLES
REG_LOSSES = tf1.GraphKeys.REGULARIZATION_LOSSES
UPDATE_OPS = tf1.GraphKeys.UPDATE_OPS


def names(variables):
  return [v.op.name for v in variables]


def names_and_shapes(variables):
  return [(v.op.name, v.shape.as_list()) for v in variables]


def init_and_run(fetches, feed_dict=None):
  """Initializes the default graph's variables and runs `fetches`."""
  with tf1.Session() as sess:
    sess.run(tf1.global_variables_initializer())
    return sess.run(fetches, feed_dict)


def l2(scale, w):
  """TF-Slim's l2_regularizer: scale * sum(w ** 2) / 2."""
  return scale * np.sum(np.square(w.astype(np.float64))) / 2.0


# ------------------------------------------------------------------ Variables

def test_variable_with_initializer_regularizer_and_device():
  with tf.Graph().as_default():
    weights = slim.variable('weights',
                            shape=[10, 10, 3, 3],
                            initializer=tf1.truncated_normal_initializer(
                                stddev=0.1),
                            regularizer=slim.l2_regularizer(0.05),
                            device='/CPU:0')
    assert weights.op.name == 'weights'
    assert weights.shape.as_list() == [10, 10, 3, 3]
    assert weights.device.endswith('/device:CPU:0')
    assert tf1.get_collection(GLOBAL) == [weights]
    assert tf1.get_collection(TRAINABLE) == [weights]
    # A plain slim.variable is not a model variable.
    assert tf1.get_collection(MODEL) == []
    (reg_loss,) = tf1.get_collection(REG_LOSSES)
    w, reg = init_and_run([weights, reg_loss])
  # Truncated at two standard deviations.
  assert np.abs(w).max() <= 0.2
  assert 0.05 < w.std() < 0.12
  np.testing.assert_allclose(reg, l2(0.05, w), rtol=1e-5)


def test_model_variable_and_regular_variable():
  with tf.Graph().as_default():
    # Model Variables
    weights = slim.model_variable('weights',
                                  shape=[10, 10, 3, 3],
                                  initializer=tf1.truncated_normal_initializer(
                                      stddev=0.1),
                                  regularizer=slim.l2_regularizer(0.05),
                                  device='/CPU:0')
    model_variables = slim.get_model_variables()
    # Regular variables
    my_var = slim.variable('my_var',
                           shape=[20, 1],
                           initializer=tf1.zeros_initializer())
    regular_variables_and_model_variables = slim.get_variables()

    assert model_variables == [weights]
    assert regular_variables_and_model_variables == [weights, my_var]
    assert slim.get_model_variables() == [weights]
    assert weights.device.endswith('/device:CPU:0')
    assert tf1.get_collection(TRAINABLE) == [weights, my_var]
    assert len(tf1.get_collection(REG_LOSSES)) == 1
    value = init_and_run(my_var)
  np.testing.assert_array_equal(value, np.zeros([20, 1], np.float32))


def test_add_model_variable_makes_custom_variable_a_model_variable():
  with tf.Graph().as_default():

    def create_via_custom_code():
      # A variable that TF-Slim's layers did not create: not in MODEL.
      return tf1.Variable(tf.ones([4, 2]), name='custom/kernel')

    my_model_variable = create_via_custom_code()
    assert slim.get_model_variables() == []
    # Letting TF-Slim know about the additional variable.
    slim.add_model_variable(my_model_variable)
    assert slim.get_model_variables() == [my_model_variable]
    assert slim.get_model_variables('custom') == [my_model_variable]
    # Adding it again does not duplicate the collection entry.
    slim.add_model_variable(my_model_variable)
    assert tf1.get_collection(MODEL) == [my_model_variable]


# --------------------------------------------------------------------- Layers

def _conv_weights(shape, seed):
  rng = np.random.RandomState(seed)
  return (0.1 * rng.randn(*shape)).astype(np.float32)


def test_verbose_conv_equals_slim_conv2d():
  rng = np.random.RandomState(0)
  x = rng.randn(2, 5, 5, 64).astype(np.float32)
  kernel_value = _conv_weights([3, 3, 64, 128], 1)
  bias_value = rng.randn(128).astype(np.float32)

  # Plain TensorFlow, as in the README (its initial values replaced by the
  # arrays above so that both graphs hold the same parameters).
  with tf.Graph().as_default():
    inputs = tf.constant(x)
    with tf.name_scope('conv1_1') as scope:
      kernel = tf1.Variable(kernel_value, dtype=tf.float32, name='weights')
      conv = tf.nn.conv2d(inputs, kernel, [1, 1, 1, 1], padding='SAME')
      biases = tf1.Variable(tf.constant(bias_value, shape=[128],
                                        dtype=tf.float32),
                            trainable=True, name='biases')
      bias = tf.nn.bias_add(conv, biases)
      conv1 = tf.nn.relu(bias, name=scope)
    verbose_names = names(tf1.global_variables())
    verbose_out = init_and_run(conv1)

  with tf.Graph().as_default():
    inputs = tf.constant(x)
    net = slim.conv2d(inputs, 128, [3, 3], scope='conv1_1',
                      weights_initializer=tf1.constant_initializer(
                          kernel_value),
                      biases_initializer=tf1.constant_initializer(bias_value))
    assert net.op.name == 'conv1_1/Relu'
    assert names_and_shapes(tf1.global_variables()) == [
        ('conv1_1/weights', [3, 3, 64, 128]), ('conv1_1/biases', [128])]
    assert names(slim.get_model_variables()) == verbose_names
    slim_out = init_and_run(net)

  assert verbose_names == ['conv1_1/weights', 'conv1_1/biases']
  assert slim_out.shape == (2, 5, 5, 128)
  np.testing.assert_allclose(slim_out, verbose_out, rtol=1e-5, atol=1e-5)


def test_conv2d_variables_and_collections():
  with tf.Graph().as_default():
    x = tf.zeros([1, 5, 7, 3])
    net = slim.conv2d(x, 64, [3, 3], scope='conv1')
    assert net.op.name == 'conv1/Relu'
    assert net.shape.as_list() == [1, 5, 7, 64]
    expected = [('conv1/weights', [3, 3, 3, 64]), ('conv1/biases', [64])]
    assert names_and_shapes(slim.get_model_variables()) == expected
    assert names_and_shapes(tf1.trainable_variables()) == expected
    assert names_and_shapes(tf1.global_variables()) == expected
    assert tf1.get_collection(UPDATE_OPS) == []


def test_conv2d_with_batch_norm_has_no_biases():
  with tf.Graph().as_default():
    x = tf.zeros([1, 5, 7, 3])
    net = slim.conv2d(x, 64, [3, 3], normalizer_fn=slim.batch_norm,
                      scope='conv1')
    assert net.op.name == 'conv1/Relu'
    assert names_and_shapes(slim.get_model_variables()) == [
        ('conv1/weights', [3, 3, 3, 64]),
        ('conv1/BatchNorm/beta', [64]),
        ('conv1/BatchNorm/moving_mean', [64]),
        ('conv1/BatchNorm/moving_variance', [64]),
    ]
    # Moving statistics are model variables but not trainable; batch_norm's
    # default scale=False makes no gamma.
    assert names(tf1.trainable_variables()) == ['conv1/weights',
                                                'conv1/BatchNorm/beta']
    assert slim.get_variables_by_name('biases') == []
    assert slim.get_variables_by_name('gamma') == []
    # Training mode (the default) registers the two moving-average updates.
    assert len(tf1.get_collection(UPDATE_OPS)) == 2


def test_repeat_unrolls_scopes_like_the_verbose_and_loop_versions():
  rng = np.random.RandomState(2)
  x = rng.randn(1, 4, 4, 8).astype(np.float32)
  expected_names = []
  for i in range(3):
    expected_names += [(f'conv3/conv3_{i + 1}/weights',
                        [3, 3, 8 if i == 0 else 256, 256]),
                       (f'conv3/conv3_{i + 1}/biases', [256])]

  # Verbose: three calls, nested by hand in the scope repeat creates.
  with tf.Graph().as_default():
    net = tf.constant(x)
    with tf1.variable_scope('conv3'):
      net = slim.conv2d(net, 256, [3, 3], scope='conv3_1')
      net = slim.conv2d(net, 256, [3, 3], scope='conv3_2')
      net = slim.conv2d(net, 256, [3, 3], scope='conv3_3')
    net = slim.max_pool2d(net, [2, 2], scope='pool3')
    assert names_and_shapes(slim.get_model_variables()) == expected_names
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      values = {v.op.name: sess.run(v) for v in slim.get_model_variables()}
      verbose_out = sess.run(net)

  # The README's loop has a typo: 'conv3_' % (i+1) has no %d.
  with tf.Graph().as_default():
    net = tf.constant(x)
    with pytest.raises(TypeError):
      for i in range(3):
        net = slim.conv2d(net, 256, [3, 3], scope='conv3_' % (i+1))

  with tf.Graph().as_default():
    net = tf.constant(x)
    net = slim.repeat(net, 3, slim.conv2d, 256, [3, 3], scope='conv3')
    # README: slim.max_pool (TF-Slim's name is max_pool2d).
    net = slim.max_pool2d(net, [2, 2], scope='pool2')
    assert names_and_shapes(slim.get_model_variables()) == expected_names
    assert net.shape.as_list() == [1, 2, 2, 256]
    assert tf1.get_default_graph().get_operation_by_name(
        'conv3/conv3_3/Relu')
    init = slim.assign_from_values_fn(values)
    with tf1.Session() as sess:
      init(sess)
      repeat_out = sess.run(net)
  np.testing.assert_allclose(repeat_out, verbose_out, rtol=1e-5, atol=1e-5)


def test_repeat_loop_fixed_gives_flat_scopes():
  with tf.Graph().as_default():
    net = tf.zeros([1, 4, 4, 3])
    for i in range(3):
      net = slim.conv2d(net, 256, [3, 3], scope='conv3_%d' % (i + 1))
    net = slim.max_pool2d(net, [2, 2], scope='pool3')
    assert names(slim.get_model_variables()) == [
        'conv3_1/weights', 'conv3_1/biases', 'conv3_2/weights',
        'conv3_2/biases', 'conv3_3/weights', 'conv3_3/biases']
    assert net.op.name == 'pool3/MaxPool'


def _same_model_two_ways(verbose_fn, slim_fn, x):
  """Builds both; returns (names and shapes, verbose out, slim out)."""
  with tf.Graph().as_default():
    out = verbose_fn(tf.constant(x))
    verbose_vars = names_and_shapes(tf1.global_variables())
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      values = {v.op.name: sess.run(v) for v in tf1.global_variables()}
      verbose_out = sess.run(out)
  with tf.Graph().as_default():
    out = slim_fn(tf.constant(x))
    assert names_and_shapes(tf1.global_variables()) == verbose_vars
    init = slim.assign_from_values_fn(values)
    with tf1.Session() as sess:
      init(sess)
      slim_out = sess.run(out)
  return verbose_vars, verbose_out, slim_out


def test_stack_of_fully_connected_equals_verbose():
  x = np.random.RandomState(3).randn(2, 16).astype(np.float32)

  def verbose(x):
    x = slim.fully_connected(x, 32, scope='fc/fc_1')
    x = slim.fully_connected(x, 64, scope='fc/fc_2')
    x = slim.fully_connected(x, 128, scope='fc/fc_3')
    return x

  def stacked(x):
    return slim.stack(x, slim.fully_connected, [32, 64, 128], scope='fc')

  variables, verbose_out, slim_out = _same_model_two_ways(verbose, stacked, x)
  assert variables == [
      ('fc/fc_1/weights', [16, 32]), ('fc/fc_1/biases', [32]),
      ('fc/fc_2/weights', [32, 64]), ('fc/fc_2/biases', [64]),
      ('fc/fc_3/weights', [64, 128]), ('fc/fc_3/biases', [128])]
  assert slim_out.shape == (2, 128)
  np.testing.assert_allclose(slim_out, verbose_out, rtol=1e-5, atol=1e-5)


def test_stack_of_convolutions_equals_verbose():
  x = np.random.RandomState(4).randn(1, 5, 5, 3).astype(np.float32)

  def verbose(x):
    x = slim.conv2d(x, 32, [3, 3], scope='core/core_1')
    x = slim.conv2d(x, 32, [1, 1], scope='core/core_2')
    x = slim.conv2d(x, 64, [3, 3], scope='core/core_3')
    x = slim.conv2d(x, 64, [1, 1], scope='core/core_4')
    return x

  def stacked(x):
    return slim.stack(x, slim.conv2d,
                      [(32, [3, 3]), (32, [1, 1]), (64, [3, 3]), (64, [1, 1])],
                      scope='core')

  variables, verbose_out, slim_out = _same_model_two_ways(verbose, stacked, x)
  assert variables == [
      ('core/core_1/weights', [3, 3, 3, 32]), ('core/core_1/biases', [32]),
      ('core/core_2/weights', [1, 1, 32, 32]), ('core/core_2/biases', [32]),
      ('core/core_3/weights', [3, 3, 32, 64]), ('core/core_3/biases', [64]),
      ('core/core_4/weights', [1, 1, 64, 64]), ('core/core_4/biases', [64])]
  assert slim_out.shape == (1, 5, 5, 64)
  np.testing.assert_allclose(slim_out, verbose_out, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------- Scopes

def _conv_attrs(name):
  op = tf1.get_default_graph().get_operation_by_name(name + '/Conv2D')
  return op.get_attr('strides'), op.get_attr('padding').decode()


def _check_alexnet_like_convs(inputs_shape, conv1_stride):
  """Checks the three convolutions of the Scopes examples."""
  graph = tf1.get_default_graph()
  assert names_and_shapes(slim.get_model_variables()) == [
      ('conv1/weights', [11, 11, 3, 64]), ('conv1/biases', [64]),
      ('conv2/weights', [11, 11, 64, 128]), ('conv2/biases', [128]),
      ('conv3/weights', [11, 11, 128, 256]), ('conv3/biases', [256])]
  s = conv1_stride
  assert _conv_attrs('conv1') == ([1, s, s, 1], 'SAME')
  # conv2's 11x11 VALID kernel lies exactly on its 11x11 input: one output
  # position, computed as the matmul it is (slim.layers.conv).
  assert graph.get_tensor_by_name('conv2/MatMul:0').shape.as_list() == [
      1, 128]
  assert 'Conv2D' not in {op.type for op in graph.get_operations()
                          if op.name.startswith('conv2/')}
  assert _conv_attrs('conv3') == ([1, 1, 1, 1], 'SAME')
  assert graph.get_tensor_by_name('conv1/Relu:0').shape.as_list() == [
      1, -(-inputs_shape[1] // s), -(-inputs_shape[2] // s), 64]
  reg_losses = tf1.get_collection(REG_LOSSES)
  assert len(reg_losses) == 3
  weights = slim.get_variables_by_name('weights')
  w_values, reg_values = init_and_run([weights, reg_losses])
  for w, reg in zip(w_values, reg_values):
    # truncated_normal(stddev=0.01): within two standard deviations.
    assert np.abs(w).max() <= 0.02
    np.testing.assert_allclose(reg, l2(0.0005, w), rtol=1e-4)


def test_conv_layers_with_repeated_arguments():
  with tf.Graph().as_default():
    inputs = tf.zeros([1, 41, 41, 3])
    net = slim.conv2d(inputs, 64, [11, 11], 4, padding='SAME',
                      weights_initializer=tf1.truncated_normal_initializer(
                          stddev=0.01),
                      weights_regularizer=slim.l2_regularizer(0.0005),
                      scope='conv1')
    net = slim.conv2d(net, 128, [11, 11], padding='VALID',
                      weights_initializer=tf1.truncated_normal_initializer(
                          stddev=0.01),
                      weights_regularizer=slim.l2_regularizer(0.0005),
                      scope='conv2')
    net = slim.conv2d(net, 256, [11, 11], padding='SAME',
                      weights_initializer=tf1.truncated_normal_initializer(
                          stddev=0.01),
                      weights_regularizer=slim.l2_regularizer(0.0005),
                      scope='conv3')
    # 41 -> ceil(41 / 4) = 11 -> VALID 11x11: 1 -> SAME: 1.
    assert net.shape.as_list() == [1, 1, 1, 256]
    _check_alexnet_like_convs([1, 41, 41, 3], conv1_stride=4)


def test_conv_layers_with_shared_python_variables():
  with tf.Graph().as_default():
    inputs = tf.zeros([1, 41, 41, 3])
    padding = 'SAME'
    initializer = tf1.truncated_normal_initializer(stddev=0.01)
    regularizer = slim.l2_regularizer(0.0005)
    net = slim.conv2d(inputs, 64, [11, 11], 4,
                      padding=padding,
                      weights_initializer=initializer,
                      weights_regularizer=regularizer,
                      scope='conv1')
    net = slim.conv2d(net, 128, [11, 11],
                      padding='VALID',
                      weights_initializer=initializer,
                      weights_regularizer=regularizer,
                      scope='conv2')
    net = slim.conv2d(net, 256, [11, 11],
                      padding=padding,
                      weights_initializer=initializer,
                      weights_regularizer=regularizer,
                      scope='conv3')
    assert net.shape.as_list() == [1, 1, 1, 256]
    _check_alexnet_like_convs([1, 41, 41, 3], conv1_stride=4)


def test_arg_scope_with_local_override():
  with tf.Graph().as_default():
    # The README's arg_scope version drops conv1's stride 4 (stride 1 here):
    # 11 -> SAME 11 -> VALID 11x11: 1 -> SAME 1.
    inputs = tf.zeros([1, 11, 11, 3])
    with slim.arg_scope([slim.conv2d], padding='SAME',
                        weights_initializer=tf1.truncated_normal_initializer(
                            stddev=0.01),
                        weights_regularizer=slim.l2_regularizer(0.0005)):
      net = slim.conv2d(inputs, 64, [11, 11], scope='conv1')
      net = slim.conv2d(net, 128, [11, 11], padding='VALID', scope='conv2')
      net = slim.conv2d(net, 256, [11, 11], scope='conv3')
    assert net.shape.as_list() == [1, 1, 1, 256]
    _check_alexnet_like_convs([1, 11, 11, 3], conv1_stride=1)


def test_nested_arg_scopes_with_positional_stride_override():
  with tf.Graph().as_default():
    inputs = tf.zeros([1, 23, 23, 3])
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        activation_fn=tf.nn.relu,
                        weights_initializer=tf1.truncated_normal_initializer(
                            stddev=0.01),
                        weights_regularizer=slim.l2_regularizer(0.0005)):
      with slim.arg_scope([slim.conv2d], stride=1, padding='SAME'):
        net = slim.conv2d(inputs, 64, [11, 11], 4, padding='VALID',
                          scope='conv1')
        net = slim.conv2d(net, 256, [5, 5],
                          weights_initializer=(
                              tf1.truncated_normal_initializer(stddev=0.03)),
                          scope='conv2')
        net = slim.fully_connected(net, 1000, activation_fn=None, scope='fc')
    graph = tf1.get_default_graph()
    # conv1: the positional stride 4 and the local VALID win over the scope:
    # (23 - 11) / 4 + 1 = 4.
    assert _conv_attrs('conv1') == ([1, 4, 4, 1], 'VALID')
    assert graph.get_tensor_by_name('conv1/Relu:0').shape.as_list() == [
        1, 4, 4, 64]
    # conv2: the inner scope's stride 1 and SAME.
    assert _conv_attrs('conv2') == ([1, 1, 1, 1], 'SAME')
    assert graph.get_tensor_by_name('conv2/Relu:0').shape.as_list() == [
        1, 4, 4, 256]
    # fc acts on the last dimension and has no activation.
    assert net.shape.as_list() == [1, 4, 4, 1000]
    assert all(not op.name.startswith('fc/') or op.type != 'Relu'
               for op in graph.get_operations())
    assert names_and_shapes(slim.get_model_variables()) == [
        ('conv1/weights', [11, 11, 3, 64]), ('conv1/biases', [64]),
        ('conv2/weights', [5, 5, 64, 256]), ('conv2/biases', [256]),
        ('fc/weights', [256, 1000]), ('fc/biases', [1000])]
    assert len(tf1.get_collection(REG_LOSSES)) == 3
    w1, w2, wfc = init_and_run(slim.get_variables_by_name('weights'))
  # The outer scope's stddev 0.01 for conv1 and fc; conv2's local 0.03.
  assert np.abs(w1).max() <= 0.02 and np.abs(wfc).max() <= 0.02
  assert 0.02 < np.abs(w2).max() <= 0.06
  np.testing.assert_allclose(w2.std(), 0.03 * 0.8796, rtol=0.05)


# ---------------------------------------------------------------------- VGG16

README_DEPTHS = (64, 128, 256, 512, 512, 4096, 1000)


def vgg16(inputs, depths=README_DEPTHS):
  """The README's VGG16 (`depths` lets other tests build a narrow copy)."""
  d1, d2, d3, d4, d5, dfc, num_classes = depths
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      activation_fn=tf.nn.relu,
                      weights_initializer=tf1.truncated_normal_initializer(
                          0.0, 0.01),
                      weights_regularizer=slim.l2_regularizer(0.0005)):
    net = slim.repeat(inputs, 2, slim.conv2d, d1, [3, 3], scope='conv1')
    net = slim.max_pool2d(net, [2, 2], scope='pool1')
    net = slim.repeat(net, 2, slim.conv2d, d2, [3, 3], scope='conv2')
    net = slim.max_pool2d(net, [2, 2], scope='pool2')
    net = slim.repeat(net, 3, slim.conv2d, d3, [3, 3], scope='conv3')
    net = slim.max_pool2d(net, [2, 2], scope='pool3')
    net = slim.repeat(net, 3, slim.conv2d, d4, [3, 3], scope='conv4')
    net = slim.max_pool2d(net, [2, 2], scope='pool4')
    net = slim.repeat(net, 3, slim.conv2d, d5, [3, 3], scope='conv5')
    net = slim.max_pool2d(net, [2, 2], scope='pool5')
    net = slim.fully_connected(net, dfc, scope='fc6')
    net = slim.dropout(net, 0.5, scope='dropout6')
    net = slim.fully_connected(net, dfc, scope='fc7')
    net = slim.dropout(net, 0.5, scope='dropout7')
    net = slim.fully_connected(net, num_classes, activation_fn=None,
                               scope='fc8')
  return net


def expected_vgg16_variables(in_channels=3, depths=README_DEPTHS):
  """(name, shape) of every variable of `vgg16`, in creation order."""
  expected = []
  channels = in_channels
  for stage, (repeats, depth) in enumerate(zip((2, 2, 3, 3, 3), depths[:5])):
    for i in range(repeats):
      scope = f'conv{stage + 1}/conv{stage + 1}_{i + 1}'
      expected += [(scope + '/weights', [3, 3, channels, depth]),
                   (scope + '/biases', [depth])]
      channels = depth
  for scope, depth in (('fc6', depths[5]), ('fc7', depths[5]),
                       ('fc8', depths[6])):
    expected += [(scope + '/weights', [channels, depth]),
                 (scope + '/biases', [depth])]
    channels = depth
  return expected


def test_readme_vgg16_variables_and_shapes():
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [None, 224, 224, 3])
    net = vgg16(images)
    expected = expected_vgg16_variables()
    assert len(expected) == 32  # 13 convolutions + 3 fc, weights and biases
    assert names_and_shapes(slim.get_model_variables()) == expected
    assert names_and_shapes(tf1.trainable_variables()) == expected
    assert names_and_shapes(tf1.global_variables()) == expected
    # One L2 loss per weights tensor (16), none on the biases.
    reg_losses = tf1.get_collection(REG_LOSSES)
    assert len(reg_losses) == 16
    # 224 / 2**5 = 7; fully_connected acts on the last dimension.
    assert net.shape.as_list() == [None, 7, 7, 1000]
    graph = tf1.get_default_graph()
    for i in range(1, 6):
      assert graph.get_tensor_by_name(f'pool{i}/MaxPool:0').shape[1] == (
          224 >> i)
    assert graph.get_tensor_by_name('conv5/conv5_3/Relu:0').shape.as_list() \
        == [None, 14, 14, 512]
    assert graph.get_tensor_by_name('fc7/Relu:0').shape.as_list() == [
        None, 7, 7, 4096]
    # 138,357,544 parameters is VGG16's published count with fc6 as 7x7x512
    # x 4096; as fully_connected on the last dimension fc6 is 512 x 4096.
    num_params = sum(np.prod(shape) for _, shape in expected)
    assert num_params == 138357544 - (7 * 7 - 1) * 512 * 4096


def test_readme_vgg16_runs_on_a_narrow_copy():
  depths = (4, 4, 8, 8, 8, 16, 5)
  x = np.random.RandomState(5).rand(2, 32, 32, 3).astype(np.float32)
  with tf.Graph().as_default():
    net = vgg16(tf.constant(x), depths)
    assert names_and_shapes(slim.get_model_variables()) == (
        expected_vgg16_variables(3, depths))
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      out = sess.run(net)
  assert out.shape == (2, 1, 1, 5)
  assert np.all(np.isfinite(out))


def test_slim_nets_resolves_vgg_in_a_fresh_interpreter():
  # README: vgg = tf.contrib.slim.nets.vgg. tf.contrib.slim.nets imported
  # alexnet, inception, overfeat, resnet_v1/v2 and vgg, so the attribute
  # worked without importing the module first.
  code = ('import slim; vgg = slim.nets.vgg; '
          'assert vgg.vgg16 is vgg.vgg_16, vgg')
  root = os.path.dirname(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))))
  result = subprocess.run([sys.executable, '-c', code], cwd=root,
                          capture_output=True, text=True, timeout=300,
                          check=False)
  assert result.returncode == 0, result.stderr[-2000:]
