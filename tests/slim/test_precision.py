"""slim.precision: mixed precision through slim.variables, float32 losses,
dynamic loss scaling, and the CPU check; against hand-computed values."""
import numpy as np
import pytest
import tensorflow as tf

import slim
from slim import precision

tf1 = tf.compat.v1


def _conv_bn_net(images):
  net = slim.conv2d(images, 4, [3, 3], scope='conv',
                    normalizer_fn=slim.batch_norm,
                    normalizer_params={'is_training': True})
  net = slim.flatten(net)
  return slim.fully_connected(net, 3, activation_fn=None, scope='logits')


def test_variables_stay_float32_and_layers_compute_in_bfloat16():
  with tf.Graph().as_default() as graph:
    images = tf.random.uniform([2, 6, 6, 3], seed=1)
    with precision.compute_precision('bfloat16'):
      assert precision.compute_dtype() == tf.bfloat16
      logits = _conv_bn_net(tf.cast(images, tf.bfloat16))
      probabilities = slim.softmax(logits)
    assert precision.compute_dtype() is None
    loss = slim.losses.softmax_cross_entropy(logits, tf.one_hot([0, 1], 3))
    assert {v.dtype.base_dtype for v in tf1.global_variables()} == {
        tf.float32}
    assert logits.dtype == tf.bfloat16
    assert probabilities.dtype == tf.float32
    assert loss.dtype == tf.float32
    ops = {op.type: op for op in graph.get_operations()}
    assert ops['Conv2D'].get_attr('T') == tf.bfloat16
    assert ops['MatMul'].get_attr('T') == tf.bfloat16
    # The fused batch norm: bfloat16 activations, float32 parameters.
    batch_norm = ops['FusedBatchNormV3']
    assert batch_norm.get_attr('T') == tf.bfloat16
    assert batch_norm.get_attr('U') == tf.float32
    # Gradients reach the float32 variables through the casts.
    grads = tf1.gradients(loss, tf1.trainable_variables())
    assert all(g is not None and g.dtype == tf.float32 for g in grads)


def test_float32_scope_changes_nothing():
  def graph_def(scope):
    with tf.Graph().as_default() as graph:
      images = tf1.placeholder(tf.float32, [2, 6, 6, 3])
      with scope:
        _conv_bn_net(images)
      return graph.as_graph_def()
  import contextlib  # pylint: disable=import-outside-toplevel
  assert graph_def(precision.compute_precision('float32')) == graph_def(
      contextlib.nullcontext())


def test_unknown_precision_is_named():
  with pytest.raises(ValueError, match='precision must be one of'):
    with precision.compute_precision(tf.int32):
      pass


def test_in_float32_passes_float32_through():
  with tf.Graph().as_default():
    x = tf.constant([[[[1.0, 2.0]]]])
    y = precision.in_float32(tf.nn.lrn, x, name='norm')
    assert y.op.name == 'norm'
    low = precision.in_float32(tf.nn.lrn, tf.cast(x, tf.bfloat16))
    assert low.dtype == tf.bfloat16
    with tf1.Session() as sess:
      np.testing.assert_allclose(sess.run(tf.cast(low, tf.float32)),
                                 sess.run(y), rtol=1e-2)


def _depthwise(x, w):
  return tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], 'SAME', name='dw')


def test_bfloat16_in_float32_computes_the_depthwise_convolution_in_float32():
  rng = np.random.RandomState(0)
  x = rng.uniform(-1, 1, (1, 5, 5, 3)).astype(np.float32)
  w = rng.uniform(-1, 1, (3, 3, 3, 1)).astype(np.float32)
  with tf.Graph().as_default() as graph:
    plain = precision.bfloat16_in_float32(_depthwise, tf.constant(x),
                                          tf.constant(w))
    assert plain.op.name == 'dw'  # float32: the op itself, nothing added.
    half = precision.bfloat16_in_float32(
        _depthwise, tf.cast(x, tf.float16), tf.cast(w, tf.float16))
    assert half.op.get_attr('T') == tf.float16  # float16 (GPUs) untouched.
    low = precision.bfloat16_in_float32(
        _depthwise, tf.cast(x, tf.bfloat16), tf.cast(w, tf.bfloat16))
    assert low.dtype == tf.bfloat16
    kernels = [op for op in graph.get_operations()
               if op.type == 'DepthwiseConv2dNative']
    assert [op.get_attr('T') for op in kernels] == [
        tf.float32, tf.float16, tf.float32]
    with tf1.Session() as sess:
      expected, got = sess.run([plain, tf.cast(low, tf.float32)])
  # Only the inputs' and the output's rounding to bfloat16 differ.
  np.testing.assert_allclose(got, expected, atol=0.05)


@pytest.mark.parametrize('rate', [1, 2])
def test_bfloat16_separable_conv2d_splits_with_the_depthwise_in_float32(rate):
  rng = np.random.RandomState(1)
  images = rng.uniform(-1, 1, (2, 9, 9, 4)).astype(np.float32)
  outputs = {}
  for dtype in (tf.float32, tf.bfloat16):
    with tf.Graph().as_default() as graph:
      with precision.compute_precision(dtype):
        net = slim.separable_conv2d(
            tf.cast(images, dtype), 6, [3, 3], rate=rate,
            weights_initializer=tf1.constant_initializer(0.1),
            pointwise_initializer=tf1.constant_initializer(0.05),
            normalizer_fn=None, activation_fn=None)
      types = {op.type: op.get_attr('T') for op in graph.get_operations()
               if op.type in ('DepthwiseConv2dNative', 'Conv2D')}
      with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        outputs[dtype] = sess.run(tf.cast(net, tf.float32))
    if dtype == tf.bfloat16:
      assert types == {'DepthwiseConv2dNative': tf.float32,
                       'Conv2D': tf.bfloat16}
  np.testing.assert_allclose(outputs[tf.bfloat16], outputs[tf.float32],
                             rtol=0.02, atol=0.02)


def test_bfloat16_conv3d_filter_gradient_matches_float32():
  # 2 frames under a 3-frame kernel: TensorFlow's bfloat16 CPU kernel for
  # this gradient returns NaN or garbage (TF 2.21); slim computes 3-D
  # convolutions in float32 under bfloat16.
  rng = np.random.RandomState(0)
  clips = rng.uniform(-1, 1, (2, 2, 8, 8, 16)).astype(np.float32)
  grads = {}
  for dtype in (tf.float32, tf.bfloat16):
    with tf.Graph().as_default():
      with precision.compute_precision(dtype):
        net = slim.conv3d(tf.cast(clips, dtype), 16, [3, 1, 1],
                          weights_initializer=tf1.constant_initializer(0.05),
                          activation_fn=None, scope='temporal')
      loss = tf.reduce_sum(tf.square(tf.cast(net, tf.float32)))
      weights = tf1.trainable_variables('temporal/weights')[0]
      with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        grads[dtype] = sess.run(tf.gradients(loss, weights)[0])
  assert np.isfinite(grads[tf.bfloat16]).all()
  np.testing.assert_allclose(grads[tf.bfloat16], grads[tf.float32],
                             rtol=0.02, atol=0.02 * np.abs(
                                 grads[tf.float32]).max())


def _scaled_step(grad_value, growth_steps=2):
  """One LossScaleOptimizer step of SGD(lr=0.5) on loss = g * w."""
  with tf.Graph().as_default():
    global_step = tf1.train.get_or_create_global_step()
    w = slim.variable('w', initializer=tf.constant(1.0))
    loss = tf.constant(grad_value) * w
    optimizer = precision.LossScaleOptimizer(
        tf1.train.GradientDescentOptimizer(0.5),
        precision.DynamicLossScale(initial_scale=8.0,
                                   growth_steps=growth_steps))
    grads = optimizer.compute_gradients(loss, [w])
    train = optimizer.apply_gradients(grads, global_step=global_step)
    scale = optimizer.loss_scale
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      # The gradient is unscaled: d(8 * g * w)/dw / 8 = g.
      unscaled = sess.run(grads[0][0])
      history = []
      for _ in range(2):
        sess.run(train)
        history.append(sess.run([w, scale.scale, scale.good_steps,
                                 global_step]))
      return unscaled, history


def test_loss_scaling_applies_finite_gradients_and_grows_the_scale():
  unscaled, history = _scaled_step(0.25)
  assert unscaled == pytest.approx(0.25)
  # w -= 0.5 * 0.25 per step; the scale doubles after 2 good steps.
  assert history[0] == pytest.approx([0.875, 8.0, 1, 1])
  assert history[1] == pytest.approx([0.75, 16.0, 0, 2])


def test_loss_scaling_skips_non_finite_gradients_and_halves_the_scale():
  _, history = _scaled_step(np.inf)
  # The weight is untouched, the scale halves each time, the step counts.
  assert history[0] == pytest.approx([1.0, 4.0, 0, 1])
  assert history[1] == pytest.approx([1.0, 2.0, 0, 2])


def test_cpu_bfloat16_support_is_read_from_cpuinfo(tmp_path):
  with_bf16 = tmp_path / 'yes'
  with_bf16.write_text('flags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile\n')
  without = tmp_path / 'no'
  without.write_text('flags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n')
  assert precision.cpu_supports_bfloat16(str(with_bf16))
  assert not precision.cpu_supports_bfloat16(str(without))
  assert precision.cpu_supports_bfloat16(str(tmp_path / 'missing'))


def test_bfloat16_on_a_cpu_without_it_is_one_line(monkeypatch):
  from image_classifier import cli  # pylint: disable=import-outside-toplevel
  from image_classifier import compute  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(precision, 'cpu_supports_bfloat16', lambda: False)
  with pytest.raises(cli.UserError, match='no bfloat16 instructions.*'
                     '--precision=float32'):
    compute.check_precision('bfloat16')
  compute.check_precision('float32')


def test_xla_without_a_gpu_warns(monkeypatch):
  from absl import logging  # pylint: disable=import-outside-toplevel
  from image_classifier import compute  # pylint: disable=import-outside-toplevel
  warnings = []
  monkeypatch.setattr(logging, 'warning', lambda msg, *a: warnings.append(msg))
  monkeypatch.setattr(tf.config, 'list_physical_devices', lambda kind: [])
  compute.check_xla(False, environ={})
  assert warnings == []
  compute.check_xla(True, environ={})
  compute.check_xla(
      True, environ={'TF_XLA_FLAGS': '--tf_xla_cpu_global_jit'})
  assert len(warnings) == 2
  assert 'no effect without a GPU' in warnings[0]
  assert '11x slower' in warnings[1]
  monkeypatch.setattr(tf.config, 'list_physical_devices', lambda kind: ['gpu'])
  compute.check_xla(True, environ={})
  assert len(warnings) == 2


def test_the_compute_dtype_state_is_shared_with_precision_scope():
  # slim.variables reads slim.precision_scope; slim.precision re-exports it.
  from slim import precision_scope
  assert precision.compute_precision is precision_scope.compute_precision
  assert precision.compute_dtype is precision_scope.compute_dtype
  assert precision.PRECISIONS is precision_scope.PRECISIONS
  with precision.compute_precision('bfloat16'):
    assert precision_scope.compute_dtype() == tf.bfloat16
  assert precision_scope.compute_dtype() is None
