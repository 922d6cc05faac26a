"""Weight regularizers: fn(weights) -> scalar penalty, TF-Slim semantics.

l2_regularizer(scale)(w) is scale * sum(w**2) / 2 (tf.nn.l2_loss), as in
TF-Slim; a scale of 0 gives a regularizer that returns None (no loss).
"""
import numbers

import tensorflow as tf

tf1 = tf.compat.v1

__all__ = ['l1_regularizer', 'l2_regularizer', 'l1_l2_regularizer',
           'sum_regularizer', 'apply_regularization']


def _check_scale(scale, who):
  if isinstance(scale, numbers.Integral):
    raise ValueError(f'{who}: scale must be a float, not an integer. '
                     f'Received: {scale!r}.')
  if isinstance(scale, numbers.Real) and scale < 0.0:
    raise ValueError(f'{who}: scale must be >= 0. Received: {scale}.')


def _scaled_penalty(scale, scope, default_name, penalty_fn):
  """fn(weights) -> scale * penalty_fn(weights), or fn -> None if scale==0."""
  _check_scale(scale, default_name)
  if isinstance(scale, numbers.Real) and scale == 0.0:
    return lambda _: None

  def regularizer(weights):
    with tf1.name_scope(scope, default_name, [weights]) as name:
      scale_t = tf.convert_to_tensor(scale, dtype=weights.dtype.base_dtype,
                                     name='scale')
      return tf.multiply(scale_t, penalty_fn(weights), name=name)

  return regularizer


def l1_regularizer(scale, scope=None):
  """scale * sum(|w|)."""
  return _scaled_penalty(scale, scope, 'l1_regularizer',
                         lambda w: tf.reduce_sum(tf.abs(w)))


def l2_regularizer(scale, scope=None):
  """scale * sum(w**2) / 2."""
  return _scaled_penalty(scale, scope, 'l2_regularizer', tf.nn.l2_loss)


def sum_regularizer(regularizer_list, scope=None):
  """A regularizer summing the (non-None) penalties of `regularizer_list`."""
  regularizer_list = [r for r in regularizer_list if r is not None]
  if not regularizer_list:
    return None

  def regularizer(weights):
    with tf1.name_scope(scope, 'sum_regularizer', [weights]) as name:
      penalties = [r(weights) for r in regularizer_list]
      penalties = [p for p in penalties if p is not None]
      return tf.add_n(penalties, name=name) if penalties else None

  return regularizer


def l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0, scope=None):
  """l1_regularizer(scale_l1) + l2_regularizer(scale_l2)."""
  scope = scope or 'l1_l2_regularizer'
  return sum_regularizer([l1_regularizer(scale_l1), l2_regularizer(scale_l2)],
                         scope=scope)


def apply_regularization(regularizer, weights_list=None):
  """Sums `regularizer` over `weights_list` into REGULARIZATION_LOSSES.

  Args:
    regularizer: fn(tensor) -> scalar or None.
    weights_list: tensors; default the WEIGHTS collection.

  Returns:
    The summed penalty (0.0 when there is none).

  Raises:
    ValueError: if there are no weights to regularize.
  """
  if weights_list is None:
    weights_list = tf1.get_collection(tf1.GraphKeys.WEIGHTS)
  if not weights_list:
    raise ValueError('apply_regularization: no weights to regularize '
                     '(weights_list is empty and so is the WEIGHTS '
                     'collection).')
  with tf1.name_scope('get_regularization_penalty', values=weights_list):
    penalties = [regularizer(w) for w in weights_list]
    penalties = [p for p in penalties if p is not None]
    total = tf.add_n(penalties) if penalties else tf.constant(0.0)
  tf1.add_to_collection(tf1.GraphKeys.REGULARIZATION_LOSSES, total)
  return total
