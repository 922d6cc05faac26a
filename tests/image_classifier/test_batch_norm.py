"""Batch-norm decay flag, the short-run warning and recomputed statistics."""
import numpy as np
import pytest
import tensorflow as tf

import slim
from image_classifier import batch_norm
from nets import nets_factory

tf1 = tf.compat.v1


def test_decay_warning_gives_the_numbers_and_the_flags():
  # 0.9997 ** 2000 = 0.549: more than half of the initial values is left;
  # log(0.05) / log(0.9997) = 9984.4 steps are needed; 0.05 ** (1/2000) =
  # 0.99850 is the largest decay 2000 steps suffice for.
  message = batch_norm.decay_warning(0.9997, 2000)
  assert message == (
      'Batch norm: 2000 steps are too few for the moving statistics with '
      'decay 0.9997: decay^steps = 0.55 of their initial values is left (it '
      'takes 9985 steps, about 3/(1 - decay), to fall below 0.05), so '
      'evaluation with them will be poor. Evaluate with '
      '--recompute_batch_norm_statistics=100, or train with '
      '--batch_norm_decay=0.998 or lower.')
  # 0.99 ** 299 = 0.0495 <= 0.05: enough.
  assert batch_norm.decay_warning(0.99, 299) is None
  # 0.99 ** 298 = 0.0500 > 0.05: one step short.
  short = batch_norm.decay_warning(0.99, 298)
  assert short.startswith('Batch norm: 298 steps are too few for the moving '
                          'statistics with decay 0.99:')
  assert '(it takes 299 steps' in short
  assert batch_norm.decay_warning(None, 10) is None


def test_effective_decay_is_the_flag_or_the_networks_default():
  assert batch_norm.effective_decay('mobilenet_v1_025', None) == 0.9997
  assert batch_norm.effective_decay('mobilenet_v2', None) == 0.997
  assert batch_norm.effective_decay('mobilenet_v1_025', 0.9) == 0.9
  assert batch_norm.effective_decay('cifarnet', None) is None


def test_effective_decay_of_a_partial_arg_scope():
  # NASNet's arg_scopes are partials of nasnet_arg_scope, whose own
  # signature has no default (nets/nasnet/nasnet.py fixes 0.9 for CIFAR,
  # 0.9997 for the ImageNet networks).
  assert batch_norm.effective_decay('nasnet_cifar', None) == 0.9
  assert batch_norm.effective_decay('nasnet_mobile', None) == 0.9997
  assert batch_norm.decay_warning(
      batch_norm.effective_decay('nasnet_cifar', None), 1) is not None


@pytest.mark.parametrize('model_name', ['mobilenet_v1_025', 'mobilenet_v2'])
def test_batch_norm_decay_reaches_every_batch_norm(model_name):
  # With decay 0 an update sets the moving statistic to the batch's, so a
  # second update on the same images changes nothing; with the network's
  # own decay (0.9997, 0.997) it would move it again.
  with tf.Graph().as_default():
    images = tf.constant(
        np.random.RandomState(0).uniform(size=[2, 32, 32, 3]), tf.float32)
    network_fn = nets_factory.get_network_fn(model_name, 3, is_training=True,
                                             batch_norm_decay=0.0)
    network_fn(images)
    updates = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
    means = [v for v in slim.get_model_variables()
             if v.op.name.endswith('moving_mean')]
    assert means and len(updates) == 2 * len(means)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      first = sess.run(updates)
      second = sess.run(updates)
  for a, b in zip(first, second):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_recompute_makes_the_statistics_the_mean_over_the_batches():
  """The first batch norm's moving mean/variance against numpy."""
  rng = np.random.RandomState(0)
  batches = rng.uniform(-1, 1, size=(3, 4, 32, 32, 3)).astype(np.float32)
  with tf.Graph().as_default():
    # The evaluation network first (it creates the variables).
    network_fn = nets_factory.get_network_fn('mobilenet_v1_025', 3)
    network_fn(tf.zeros([1, 32, 32, 3]))
    images = tf1.data.make_one_shot_iterator(
        tf.data.Dataset.from_tensor_slices(batches)).get_next()
    images.set_shape([4, 32, 32, 3])
    ops = batch_norm.build_recompute_ops('mobilenet_v1_025', 3, images, 3)
    weights = slim.get_unique_variable('MobilenetV1/Conv2d_0/weights')
    prefix = 'MobilenetV1/Conv2d_0/BatchNorm/'
    moving_mean = slim.get_unique_variable(prefix + 'moving_mean')
    moving_variance = slim.get_unique_variable(prefix + 'moving_variance')
    batch = tf1.placeholder(tf.float32, [4, 32, 32, 3])
    # The pre-batch-norm activation of the first layer: its convolution.
    conv = tf.nn.conv2d(batch, weights, strides=2, padding='SAME')
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run(tf1.assign(moving_mean, tf.fill(moving_mean.shape, 5.0)))
      batch_norm.recompute(sess, ops)
      got_mean, got_variance = sess.run([moving_mean, moving_variance])
      activations = [sess.run(conv, {batch: b}) for b in batches]
  # Means over N, H, W of each batch, averaged over the 3 batches; the
  # fused kernel's batch variance is Bessel-corrected (n = 4 * 16 * 16).
  expected_mean = np.mean([a.mean(axis=(0, 1, 2)) for a in activations], 0)
  expected_variance = np.mean(
      [a.reshape(-1, a.shape[-1]).var(axis=0, ddof=1) for a in activations],
      0)
  np.testing.assert_allclose(got_mean, expected_mean, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(got_variance, expected_variance, rtol=1e-3,
                             atol=1e-5)
