"""Initializers' statistics and regularizers' values against numpy."""
import math

import numpy as np
import pytest
import tensorflow as tf

import slim

tf1 = tf.compat.v1


def _sample(initializer, shape):
  with tf.Graph().as_default():
    value = initializer(shape, dtype=tf.float32)
    with tf1.Session() as sess:
      return sess.run(value)


@pytest.mark.parametrize('mode,n', [('FAN_IN', 3 * 3 * 16),
                                    ('FAN_OUT', 3 * 3 * 32),
                                    ('FAN_AVG', 3 * 3 * (16 + 32) / 2)])
def test_variance_scaling_uniform_limit(mode, n):
  shape = [3, 3, 16, 32]
  values = _sample(slim.variance_scaling_initializer(
      factor=2.0, mode=mode, uniform=True, seed=1), shape)
  limit = math.sqrt(3.0 * 2.0 / n)
  assert np.abs(values).max() <= limit
  assert np.abs(values).max() > 0.95 * limit
  np.testing.assert_allclose(values.var(), limit ** 2 / 3, rtol=0.1)


def test_variance_scaling_truncated_normal_stddev():
  shape = [64, 256]
  values = _sample(slim.variance_scaling_initializer(seed=2), shape)
  stddev = math.sqrt(1.3 * 2.0 / 64)
  assert np.abs(values).max() <= 2 * stddev + 1e-6
  # A normal truncated at 2 sigma has 0.8796 of sigma's standard deviation.
  np.testing.assert_allclose(values.std(), 0.8796 * stddev, rtol=0.05)


def test_xavier_is_fan_avg_uniform():
  values = _sample(slim.xavier_initializer(seed=3), [100, 300])
  limit = math.sqrt(6.0 / (100 + 300))
  assert np.abs(values).max() <= limit


def test_bad_initializer_arguments():
  with pytest.raises(ValueError, match='FAN_SUM'):
    slim.variance_scaling_initializer(mode='FAN_SUM')
  with pytest.raises(TypeError, match='floating'):
    slim.variance_scaling_initializer(dtype=tf.int32)


def _penalty(regularizer, w):
  with tf.Graph().as_default():
    with tf1.Session() as sess:
      return sess.run(regularizer(tf.constant(w)))


def test_regularizers_against_numpy():
  w = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
  np.testing.assert_allclose(_penalty(slim.l1_regularizer(0.1), w),
                             0.1 * np.abs(w).sum(), rtol=1e-6)
  np.testing.assert_allclose(_penalty(slim.l2_regularizer(0.1), w),
                             0.1 * (w ** 2).sum() / 2, rtol=1e-6)
  np.testing.assert_allclose(
      _penalty(slim.l1_l2_regularizer(0.1, 0.2), w),
      0.1 * np.abs(w).sum() + 0.2 * (w ** 2).sum() / 2, rtol=1e-6)
  assert slim.l2_regularizer(0.0)(tf.constant(w)) is None


def test_regularizer_scale_errors():
  with pytest.raises(ValueError, match='float'):
    slim.l2_regularizer(1)
  with pytest.raises(ValueError, match='>= 0'):
    slim.l1_regularizer(-0.5)


def test_apply_regularization_adds_to_collection():
  with tf.Graph().as_default():
    weights = [tf.constant([1.0, 2.0]), tf.constant([3.0])]
    total = slim.apply_regularization(slim.l2_regularizer(0.5), weights)
    assert tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES) == [total]
    with tf1.Session() as sess:
      np.testing.assert_allclose(sess.run(total), 0.5 * 14 / 2)
    with pytest.raises(ValueError, match='no weights'):
      slim.apply_regularization(slim.l2_regularizer(0.5), [])
