"""Weight initializers with TF-Slim's semantics.

`variance_scaling_initializer(factor, mode, uniform)` is TF-Slim's, not
tf.initializers.variance_scaling: its normal branch is a truncated normal of
stddev sqrt(1.3 * factor / n), and its uniform branch has limit
sqrt(3 * factor / n), where n is fan_in, fan_out or their mean.
"""
import math

import tensorflow as tf

__all__ = ['xavier_initializer', 'xavier_initializer_conv2d',
           'variance_scaling_initializer']

_MODES = ('FAN_IN', 'FAN_OUT', 'FAN_AVG')


def _fans(shape):
  """fan_in and fan_out of a weight shape [..., in, out] (receptive field
  dimensions multiply both)."""
  if not shape:
    return 1.0, 1.0
  fan_in = float(shape[-2]) if len(shape) > 1 else float(shape[-1])
  fan_out = float(shape[-1])
  for dim in shape[:-2]:
    fan_in *= float(dim)
    fan_out *= float(dim)
  return fan_in, fan_out


def variance_scaling_initializer(factor=2.0, mode='FAN_IN', uniform=False,
                                 seed=None, dtype=tf.float32):
  """An initializer keeping the variance of activations constant.

  Args:
    factor: the scale (2.0 for ReLU networks, He et al.).
    mode: 'FAN_IN', 'FAN_OUT' or 'FAN_AVG'.
    uniform: uniform instead of truncated normal values.
    seed: random seed.
    dtype: a floating dtype.

  Returns:
    fn(shape, dtype=dtype, partition_info=None) -> tensor.

  Raises:
    TypeError: if dtype is not floating.
    ValueError: if mode is not one of the three.
  """
  if not tf.as_dtype(dtype).is_floating:
    raise TypeError('variance_scaling_initializer: dtype must be floating. '
                    f'Received: {dtype}.')
  if mode not in _MODES:
    raise ValueError(f'variance_scaling_initializer: mode must be one of '
                     f'{_MODES}. Received: {mode!r}.')

  def _initializer(shape, dtype=dtype, partition_info=None):
    del partition_info  # Unused; the full shape decides the fans.
    shape = tf.TensorShape(shape).as_list()
    fan_in, fan_out = _fans(shape)
    n = {'FAN_IN': fan_in, 'FAN_OUT': fan_out,
         'FAN_AVG': (fan_in + fan_out) / 2.0}[mode]
    if uniform:
      limit = math.sqrt(3.0 * factor / n)
      return tf.random.uniform(shape, -limit, limit, dtype, seed=seed)
    stddev = math.sqrt(1.3 * factor / n)
    return tf.random.truncated_normal(shape, 0.0, stddev, dtype, seed=seed)

  return _initializer


def xavier_initializer(uniform=True, seed=None, dtype=tf.float32):
  """Glorot & Bengio (2010): variance scaling with factor 1 over FAN_AVG."""
  return variance_scaling_initializer(factor=1.0, mode='FAN_AVG',
                                      uniform=uniform, seed=seed, dtype=dtype)


xavier_initializer_conv2d = xavier_initializer
