"""Loss functions with TF-Slim's `slim.losses` API and semantics.

Every loss takes the predictions (or logits) first and the labels second,
reduces with `compute_weighted_loss` (the weighted mean over the elements
whose weight is non-zero) and adds the result to the `LOSSES` collection so
that `get_total_loss` can find it:

  slim.losses.softmax_cross_entropy(logits, onehot_labels, weights=0.4,
                                    scope='aux_loss')
  total_loss = slim.losses.get_total_loss()  # + regularization losses

`weights` is a scalar, a per-sample `[batch]` (or `[batch, 1]`) tensor, or a
tensor matching the leading dimensions of the per-element losses; the older
keyword `weight` is accepted as an alias. Two functions follow their original
contracts instead of this pattern: `hinge_loss` returns the unreduced
per-element losses and adds nothing (as tf_slim's did), and `huber_loss`
takes `(labels, predictions)` in that order, as `tf.losses.huber_loss` did.
"""
import numbers

import tensorflow as tf

from slim import precision
from slim.scopes import add_arg_scope

tf1 = tf.compat.v1

__all__ = [
    'absolute_difference', 'add_loss', 'compute_weighted_loss',
    'cosine_distance', 'get_losses', 'get_regularization_losses',
    'get_total_loss', 'hinge_loss', 'huber_loss', 'log_loss',
    'mean_squared_error', 'sigmoid_cross_entropy', 'softmax_cross_entropy',
    'sparse_softmax_cross_entropy', 'sum_of_squares',
]

LOSSES = tf1.GraphKeys.LOSSES


# ------------------------------------------------------------- collections

@add_arg_scope
def add_loss(loss, loss_collection=LOSSES):
  """Adds an externally defined loss to the collection of losses.

  Args:
    loss: a loss `Tensor`.
    loss_collection: collection to add it to; a false value adds nothing.
  """
  if loss_collection:
    tf1.add_to_collection(loss_collection, loss)


def get_losses(scope=None, loss_collection=LOSSES):
  """Returns the losses in `loss_collection` whose names match `scope`.

  Args:
    scope: optional scope (a regular expression matched at the start of the
      loss tensor's name).
    loss_collection: the collection to read.

  Returns:
    A list of loss tensors.
  """
  return tf1.get_collection(loss_collection, scope)


def get_regularization_losses(scope=None):
  """Returns the regularization losses whose names match `scope`.

  Args:
    scope: optional scope to filter by.

  Returns:
    A list of tensors from `REGULARIZATION_LOSSES`.
  """
  return tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES, scope)


def get_total_loss(add_regularization_losses=True, name='total_loss'):
  """Returns the sum of all losses (and, by default, regularization losses).

  Args:
    add_regularization_losses: whether to add the `REGULARIZATION_LOSSES`.
    name: name of the returned tensor.

  Returns:
    A scalar `Tensor`, the sum of the losses.

  Raises:
    ValueError: if there is no loss to sum.
  """
  losses = get_losses()
  if add_regularization_losses:
    losses += get_regularization_losses()
  if not losses:
    raise ValueError(
        'get_total_loss: no losses found in the LOSSES collection'
        + (' or REGULARIZATION_LOSSES' if add_regularization_losses else '')
        + '. Create a loss (e.g. slim.losses.softmax_cross_entropy) or call '
        'slim.losses.add_loss first.')
  return tf.add_n(losses, name=name)


# --------------------------------------------------------------- reduction

def _resolve_weights(weights, weight, who):
  """Returns `weights`, or the deprecated `weight` alias when given."""
  if weight is None:
    return weights
  default = isinstance(weights, numbers.Real) and weights == 1.0
  if not default:
    raise ValueError(f'{who}: pass either `weights` or its deprecated alias '
                     f'`weight`, not both. Received: weights={weights!r}, '
                     f'weight={weight!r}.')
  return weight


def _check_compatible(a, b, names, who):
  """Raises ValueError unless tensors `a` and `b` have compatible shapes."""
  if not a.shape.is_compatible_with(b.shape):
    raise ValueError(f'{who}: `{names[0]}` and `{names[1]}` must have the same '
                     f'shape. Received: {names[0]}.shape={a.shape}, '
                     f'{names[1]}.shape={b.shape}.')


def _num_present(losses, weights):
  """Number of loss elements whose (broadcast) weight is non-zero."""
  if weights.shape.ndims == 0:
    return tf.where(tf.equal(weights, 0.0), 0.0,
                    tf.cast(tf.size(losses), tf.float32))
  nonzero = tf.reduce_sum(tf.cast(tf.not_equal(weights, 0.0), tf.float32))
  per_weight = tf.reduce_prod(tf.shape(losses)[weights.shape.ndims:])
  return nonzero * tf.cast(per_weight, tf.float32)


def _safe_div(numerator, denominator, name='value'):
  """numerator / denominator, or 0 where the denominator is 0."""
  return tf.where(
      tf.greater(denominator, 0),
      tf.math.divide(numerator, tf.where(tf.equal(denominator, 0),
                                         tf.ones_like(denominator),
                                         denominator)),
      tf.zeros_like(numerator), name=name)


def compute_weighted_loss(losses, weights=1.0, scope=None,
                          loss_collection=LOSSES):
  """Weighted mean of `losses` over the elements with non-zero weight.

  The sum of `losses * weights` (weights broadcast over the trailing
  dimensions of `losses`) divided by the number of elements whose weight is
  non-zero; 0 when every weight is 0. The result is added to
  `loss_collection`.

  Args:
    losses: a `Tensor` of shape `[batch_size, d1, ..., dN]`.
    weights: a scalar, or a `Tensor` whose shape is a prefix of the losses'
      shape (`[batch_size]`, `[batch_size, d1]`, ...); a trailing dimension
      of size 1 is squeezed.
    scope: name scope for the ops.
    loss_collection: collection the loss is added to (None: none).

  Returns:
    A scalar `Tensor` of the losses' dtype.

  Raises:
    ValueError: if the rank of `losses` or `weights` is unknown, or `weights`
      has more dimensions than `losses`.
  """
  with tf1.name_scope(scope, 'weighted_loss', [losses, weights]):
    losses = tf.convert_to_tensor(losses)
    input_dtype = losses.dtype
    losses = tf.cast(losses, tf.float32)
    weights = tf.cast(tf.convert_to_tensor(weights), tf.float32)
    if losses.shape.ndims is None:
      raise ValueError('compute_weighted_loss: `losses` must have a known '
                       f'rank. Received: losses.shape={losses.shape}.')
    if weights.shape.ndims is None:
      raise ValueError('compute_weighted_loss: `weights` must have a known '
                       f'rank. Received: weights.shape={weights.shape}.')
    if weights.shape.ndims > 1 and weights.shape[-1] == 1:
      weights = tf.squeeze(weights, [-1])
    if weights.shape.ndims > losses.shape.ndims:
      raise ValueError(
          'compute_weighted_loss: `weights` must be a scalar or have a shape '
          'that is a prefix of the losses shape. Received: '
          f'weights.shape={weights.shape}, losses.shape={losses.shape}.')
    # Sum the losses over the dimensions the weights do not cover, weight
    # them, then sum everything.
    trailing = list(range(weights.shape.ndims, losses.shape.ndims))
    total = tf.reduce_sum(tf.reduce_sum(losses, axis=trailing) * weights)
    mean_loss = _safe_div(total, _num_present(losses, weights))
    mean_loss = tf.cast(mean_loss, input_dtype)
    add_loss(mean_loss, loss_collection)
    return mean_loss


# ------------------------------------------------------------------ losses

def softmax_cross_entropy(logits, onehot_labels, weights=1.0,
                          label_smoothing=0, scope=None, weight=None):
  """Softmax cross-entropy of `logits` against one-hot labels.

  With `label_smoothing` > 0 the labels become
  `onehot_labels * (1 - label_smoothing) + label_smoothing / num_classes`.

  Args:
    logits: `[batch_size, num_classes]` logits.
    onehot_labels: `[batch_size, num_classes]` one-hot (or soft) labels.
    weights: scalar or `[batch_size]` per-sample weights.
    label_smoothing: amount of smoothing, in [0, 1].
    scope: name scope (default `softmax_cross_entropy_loss`).
    weight: deprecated alias of `weights`.

  Returns:
    The scalar mean loss, also added to the `LOSSES` collection.

  Raises:
    ValueError: if the shapes of `logits` and `onehot_labels` differ.
  """
  weights = _resolve_weights(weights, weight, 'softmax_cross_entropy')
  with tf1.name_scope(scope, 'softmax_cross_entropy_loss',
                      [logits, onehot_labels, weights]) as scope:
    # Losses compute in float32, whatever the logits' precision.
    logits = precision.to_float32(tf.convert_to_tensor(logits))
    onehot_labels = tf.cast(onehot_labels, logits.dtype)
    _check_compatible(logits, onehot_labels, ('logits', 'onehot_labels'),
                      'softmax_cross_entropy')
    if label_smoothing > 0:
      num_classes = tf.cast(tf.shape(onehot_labels)[-1], logits.dtype)
      onehot_labels = (onehot_labels * (1.0 - label_smoothing)
                       + label_smoothing / num_classes)
    losses = tf.nn.softmax_cross_entropy_with_logits(
        labels=tf.stop_gradient(onehot_labels), logits=logits,
        name='xentropy')
    return compute_weighted_loss(losses, weights, scope=scope)


def sparse_softmax_cross_entropy(logits, labels, weights=1.0, scope=None,
                                 weight=None):
  """Softmax cross-entropy of `logits` against integer class ids.

  Args:
    logits: `[batch_size, num_classes]` logits.
    labels: `[batch_size]` or `[batch_size, 1]` int class ids.
    weights: scalar or `[batch_size]` per-sample weights.
    scope: name scope (default `sparse_softmax_cross_entropy_loss`).
    weight: deprecated alias of `weights`.

  Returns:
    The scalar mean loss, also added to the `LOSSES` collection.
  """
  weights = _resolve_weights(weights, weight, 'sparse_softmax_cross_entropy')
  with tf1.name_scope(scope, 'sparse_softmax_cross_entropy_loss',
                      [logits, labels, weights]) as scope:
    labels = tf.convert_to_tensor(labels)
    labels = tf.reshape(labels, [tf.shape(labels)[0]])
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits, name='xentropy')
    return compute_weighted_loss(losses, weights, scope=scope)


def sigmoid_cross_entropy(logits, multi_class_labels, weights=1.0,
                          label_smoothing=0, scope=None, weight=None):
  """Sigmoid cross-entropy of `logits` against multi-label targets.

  With `label_smoothing` > 0 the labels become
  `labels * (1 - label_smoothing) + 0.5 * label_smoothing`.

  Args:
    logits: `[batch_size, num_classes]` logits.
    multi_class_labels: `[batch_size, num_classes]` labels in {0, 1}.
    weights: scalar, `[batch_size]` or `[batch_size, num_classes]` weights.
    label_smoothing: amount of smoothing, in [0, 1].
    scope: name scope (default `sigmoid_cross_entropy_loss`).
    weight: deprecated alias of `weights`.

  Returns:
    The scalar mean loss, also added to the `LOSSES` collection.

  Raises:
    ValueError: if the shapes of `logits` and `multi_class_labels` differ.
  """
  weights = _resolve_weights(weights, weight, 'sigmoid_cross_entropy')
  with tf1.name_scope(scope, 'sigmoid_cross_entropy_loss',
                      [logits, multi_class_labels, weights]) as scope:
    # Losses compute in float32, whatever the logits' precision.
    logits = precision.to_float32(tf.convert_to_tensor(logits))
    multi_class_labels = tf.cast(multi_class_labels, logits.dtype)
    _check_compatible(logits, multi_class_labels,
                      ('logits', 'multi_class_labels'), 'sigmoid_cross_entropy')
    if label_smoothing > 0:
      multi_class_labels = (multi_class_labels * (1.0 - label_smoothing)
                            + 0.5 * label_smoothing)
    losses = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=multi_class_labels, logits=logits, name='xentropy')
    return compute_weighted_loss(losses, weights, scope=scope)


def _elementwise_loss(default_name, who, fn, predictions, labels, weights,
                      scope):
  """Weighted mean of fn(predictions, labels), both cast to float32."""
  with tf1.name_scope(scope, default_name,
                      [predictions, labels, weights]) as scope:
    predictions = tf.cast(predictions, tf.float32)
    labels = tf.cast(labels, tf.float32)
    _check_compatible(predictions, labels, ('predictions', 'labels'), who)
    return compute_weighted_loss(fn(predictions, labels), weights,
                                 scope=scope)


def mean_squared_error(predictions, labels, weights=1.0, scope=None,
                       weight=None):
  """Weighted mean of `(predictions - labels) ** 2`.

  Args:
    predictions: the predicted values.
    labels: the targets, same shape as `predictions`.
    weights: scalar or a tensor whose shape is a prefix of the inputs'.
    scope: name scope (default `mean_squared_error`).
    weight: deprecated alias of `weights`.

  Returns:
    The scalar mean loss, also added to the `LOSSES` collection.

  Raises:
    ValueError: if the shapes of `predictions` and `labels` differ.
  """
  weights = _resolve_weights(weights, weight, 'mean_squared_error')
  return _elementwise_loss('mean_squared_error', 'mean_squared_error',
                           tf.math.squared_difference, predictions, labels,
                           weights, scope)


# The pre-1.0 name of `mean_squared_error`, used by the TF-Slim README.
sum_of_squares = mean_squared_error


def absolute_difference(predictions, labels, weights=1.0, scope=None,
                        weight=None):
  """Weighted mean of `|predictions - labels|`.

  Args:
    predictions: the predicted values.
    labels: the targets, same shape as `predictions`.
    weights: scalar or a tensor whose shape is a prefix of the inputs'.
    scope: name scope (default `absolute_difference`).
    weight: deprecated alias of `weights`.

  Returns:
    The scalar mean loss, also added to the `LOSSES` collection.

  Raises:
    ValueError: if the shapes of `predictions` and `labels` differ.
  """
  weights = _resolve_weights(weights, weight, 'absolute_difference')
  return _elementwise_loss('absolute_difference', 'absolute_difference',
                           lambda p, l: tf.abs(p - l), predictions, labels,
                           weights, scope)


def log_loss(predictions, labels, weights=1.0, epsilon=1e-7, scope=None,
             weight=None):
  """Weighted mean of the binary log loss of probabilities `predictions`.

  Per element: `-labels * log(p + eps) - (1 - labels) * log(1 - p + eps)`.

  Args:
    predictions: predicted probabilities in [0, 1].
    labels: the targets in {0, 1}, same shape as `predictions`.
    weights: scalar or a tensor whose shape is a prefix of the inputs'.
    epsilon: small constant that keeps the logarithms finite.
    scope: name scope (default `log_loss`).
    weight: deprecated alias of `weights`.

  Returns:
    The scalar mean loss, also added to the `LOSSES` collection.

  Raises:
    ValueError: if the shapes of `predictions` and `labels` differ.
  """
  weights = _resolve_weights(weights, weight, 'log_loss')

  def fn(p, l):
    return (-l * tf.math.log(p + epsilon)
            - (1.0 - l) * tf.math.log(1.0 - p + epsilon))

  return _elementwise_loss('log_loss', 'log_loss', fn, predictions, labels,
                           weights, scope)


def huber_loss(labels, predictions, weights=1.0, delta=1.0, scope=None,
               loss_collection=LOSSES):
  """Weighted mean of the Huber loss; note the (labels, predictions) order.

  TF-Slim never had a Huber loss: this follows `tf.losses.huber_loss`,
  including its argument order. Per element, with `x = predictions - labels`:
  `0.5 * x**2` if `|x| <= delta`, else `delta * (|x| - 0.5 * delta)`.

  Args:
    labels: the targets.
    predictions: the predicted values, same shape as `labels`.
    weights: scalar or a tensor whose shape is a prefix of the inputs'.
    delta: where the loss turns from quadratic to linear.
    scope: name scope (default `huber_loss`).
    loss_collection: collection the loss is added to.

  Returns:
    The scalar mean loss.

  Raises:
    ValueError: if the shapes of `labels` and `predictions` differ.
  """
  with tf1.name_scope(scope, 'huber_loss',
                      [predictions, labels, weights]) as scope:
    predictions = tf.cast(predictions, tf.float32)
    labels = tf.cast(labels, tf.float32)
    _check_compatible(labels, predictions, ('labels', 'predictions'),
                      'huber_loss')
    abs_error = tf.abs(predictions - labels)
    quadratic = tf.minimum(abs_error, delta)
    losses = 0.5 * tf.square(quadratic) + delta * (abs_error - quadratic)
    return compute_weighted_loss(losses, weights, scope=scope,
                                 loss_collection=loss_collection)


def hinge_loss(logits, labels, scope=None):
  """Per-element hinge loss `max(0, 1 - (2 * labels - 1) * logits)`.

  As in TF-Slim, the result is not reduced, not weighted and not added to
  the `LOSSES` collection; reduce it and call `add_loss` yourself.

  Args:
    logits: the logits.
    labels: the targets in {0, 1}, same shape as `logits`.
    scope: name scope (default `hinge_loss`).

  Returns:
    A `Tensor` of the shape of `logits`.

  Raises:
    ValueError: if the shapes of `logits` and `labels` differ.
  """
  with tf1.name_scope(scope, 'hinge_loss', [logits, labels]):
    # Losses compute in float32, whatever the logits' precision.
    logits = precision.to_float32(tf.convert_to_tensor(logits))
    labels = tf.cast(labels, logits.dtype)
    _check_compatible(logits, labels, ('logits', 'labels'), 'hinge_loss')
    signs = 2.0 * labels - 1.0
    return tf.nn.relu(1.0 - signs * logits)


def cosine_distance(predictions, labels, axis=None, weights=1.0, scope=None,
                    dim=None, weight=None):
  """Weighted mean of `1 - sum(predictions * labels, axis)`.

  Both inputs are expected to be unit-normalized along `axis`.

  Args:
    predictions: the predicted vectors.
    labels: the target vectors, same shape as `predictions`.
    axis: the dimension holding the vectors.
    weights: scalar or a tensor whose shape is a prefix of the reduced shape.
    scope: name scope (default `cosine_distance_loss`).
    dim: deprecated alias of `axis`.
    weight: deprecated alias of `weights`.

  Returns:
    The scalar mean loss, also added to the `LOSSES` collection.

  Raises:
    ValueError: if neither or both of `axis` and `dim` are given, or the
      shapes of `predictions` and `labels` differ.
  """
  weights = _resolve_weights(weights, weight, 'cosine_distance')
  if axis is not None and dim is not None and axis != dim:
    raise ValueError('cosine_distance: pass either `axis` or its deprecated '
                     f'alias `dim`, not both. Received: axis={axis}, '
                     f'dim={dim}.')
  axis = dim if axis is None else axis
  if axis is None:
    raise ValueError('cosine_distance: `axis` is required (the dimension '
                     'holding the vectors). Received: axis=None.')

  def fn(p, l):
    return 1.0 - tf.reduce_sum(p * l, axis=[axis])

  return _elementwise_loss('cosine_distance_loss', 'cosine_distance', fn,
                           predictions, labels, weights, scope)
