"""Every registered network in mixed precision (bfloat16).

The variables a network makes at bfloat16 are the float32 manifest's, so
checkpoints are interchangeable; its convolutions and matrix products
compute in bfloat16 (depthwise and 3-D convolutions in float32); and a training step runs, for a set of networks that
covers every kind of layer in the zoo (at small sizes). A float32
checkpoint restores into a bfloat16 graph and back, and predicts alike.
"""
import numpy as np
import pytest
import tensorflow as tf

import slim
from nets import nets_factory
from nets.registry import NETWORKS
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1

_COMPUTE_OPS = ('Conv2D', 'Conv3D', 'DepthwiseConv2dNative', 'MatMul')
# Depthwise and 3-D convolutions compute in float32: the bfloat16 CPU
# kernels of the one are slower, of the other wrong in a case
# (slim.precision.bfloat16_in_float32).
_COMPUTE_DTYPE = dict.fromkeys(_COMPUTE_OPS, tf.bfloat16)
_COMPUTE_DTYPE['DepthwiseConv2dNative'] = tf.float32
_COMPUTE_DTYPE['Conv3D'] = tf.float32


def _is_lrn(op):
  # CifarNet's LRN (its band-matrix MatMul when training) runs in float32:
  # no low-precision LRN kernel, and sums of squares want float32.
  return op.name.startswith(('CifarNet/norm1/', 'CifarNet/norm2/'))


def _build(name, input_shape, num_classes=1001, is_training=True,
           precision='bfloat16'):
  tf1.train.get_or_create_global_step()
  images = tf1.placeholder(tf.float32, input_shape, name='input')
  network_fn = nets_factory.get_network_fn(
      name, num_classes, is_training=is_training, precision=precision)
  return images, network_fn(images)


# The large NASNet and PNASNet repeat the cells of the mobile ones, and
# take a minute between them to build: left out to keep the run short, as
# are ConvNeXt B, L and XL (S's blocks wider, 35 s between them),
# EfficientNetV2-M and -L (S's blocks, 40 s) and EfficientNet B1-B7 (B0's
# blocks, wider and repeated).
_LEFT_OUT = {'nasnet_large', 'pnasnet_large', 'convnext_base',
             'convnext_large', 'convnext_xlarge', 'efficientnet_v2_m',
             'efficientnet_v2_l'} | {f'efficientnet_b{i}' for i in range(1, 8)}


@pytest.mark.parametrize('name', sorted(set(NETWORKS) - _LEFT_OUT))
def test_bfloat16_graph_keeps_the_float32_variables(name):
  entry = harness.manifest()[name]
  with tf.Graph().as_default() as graph:
    _, (logits, _) = _build(name, entry['input_shape'])
    expected = [v for v in entry['variables']
                if not harness.is_stray_global_step(v[0])]
    assert sorted(harness.variable_table()) == sorted(expected)
    assert logits.dtype == tf.float32
    compute = [op for op in graph.get_operations()
               if op.type in _COMPUTE_OPS and not _is_lrn(op)]
    assert compute and all(op.get_attr('T') == _COMPUTE_DTYPE[op.type]
                           for op in compute), name


# One of each kind of layer: LRN, plain conv/pool/fc, inception blocks,
# depthwise + squeeze-excite + hard-swish, residual blocks with batch norm,
# 3-D convolutions and gating, layer norm + GELU + layer scale + drop path.
# (NASNet cells build above; their ops are separable convolutions and
# pooling, covered here by the others.)
_STEP_SHAPES = {
    'cifarnet': [2, 32, 32, 3],
    'convnext_tiny': [2, 32, 32, 3],
    'lenet': [2, 28, 28, 3],
    'inception_v2': [2, 96, 96, 3],
    'mobilenet_v3_small': [2, 64, 64, 3],
    'resnet_v2_50': [2, 32, 32, 3],
    's3dg': [2, 4, 32, 32, 3],
}


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(_STEP_SHAPES))
def test_bfloat16_training_step(name):
  with tf.Graph().as_default():
    images, (logits, _) = _build(name, _STEP_SHAPES[name], num_classes=5)
    slim.losses.softmax_cross_entropy(
        logits, tf.one_hot(tf.zeros([_STEP_SHAPES[name][0]], tf.int32), 5))
    train_op = slim.learning.create_train_op(
        tf1.losses.get_total_loss(), tf1.train.GradientDescentOptimizer(0.01))
    variables = tf1.trainable_variables()
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      start = sess.run(variables)
      loss = sess.run(train_op, {images: np.random.RandomState(0).uniform(
          -1, 1, _STEP_SHAPES[name]).astype(np.float32)})
      end = sess.run(variables)
    assert np.isfinite(loss)
    assert all(np.isfinite(v).all() for v in end)
    moved = [not np.array_equal(a, b) for a, b in zip(start, end)]
    assert moved[-1] and sum(moved) > len(moved) // 2, (name, sum(moved),
                                                        len(moved))


def test_float32_checkpoint_restores_into_bfloat16_and_back(tmp_path):
  shape = [4, 32, 32, 3]
  batch = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)

  def predict(precision, restore_from=None, save_to=None):
    with tf.Graph().as_default():
      images, (logits, _) = _build('cifarnet', shape, num_classes=10,
                                   is_training=False, precision=precision)
      saver = tf1.train.Saver()
      with tf1.Session() as sess:
        if restore_from:
          saver.restore(sess, restore_from)
        else:
          tf1.set_random_seed(0)
          sess.run(tf1.global_variables_initializer())
        if save_to:
          saver.save(sess, save_to)
        return sess.run(logits, {images: batch})

  float32 = predict('float32', save_to=str(tmp_path / 'f32'))
  bfloat16 = predict('bfloat16', restore_from=str(tmp_path / 'f32'),
                     save_to=str(tmp_path / 'bf16'))
  # bfloat16 keeps 8 bits of mantissa: close, and the same classes.
  np.testing.assert_allclose(bfloat16, float32, atol=0.05 * np.abs(
      float32).max())
  np.testing.assert_array_equal(bfloat16.argmax(1), float32.argmax(1))
  # Saved from the bfloat16 graph, the float32 weights come back exactly.
  np.testing.assert_array_equal(
      predict('float32', restore_from=str(tmp_path / 'bf16')), float32)
