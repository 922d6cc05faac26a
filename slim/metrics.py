"""Streaming evaluation metrics with TF-Slim's `slim.metrics` API.

Every metric returns `(value_op, update_op)`. Its accumulators are local
variables (collections `LOCAL_VARIABLES` and `METRIC_VARIABLES`), created
through `slim.variables` in a fresh variable scope named after `name` or the
metric (`accuracy`, `accuracy_1`, ...). `update_op` adds one batch to the
accumulators and returns the metric over everything seen so far; `value_op`
reads the metric without changing it and is 0 (not NaN) before any update.
`tf1.local_variables_initializer()` resets every metric.

  names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
      'Accuracy': slim.metrics.streaming_accuracy(predictions, labels),
      'Recall_5': slim.metrics.streaming_sparse_recall_at_k(logits, labels, 5),
  })

As in TF-Slim, predictions come first and labels second. `weights` may be a
scalar, a tensor of the values' shape, or a tensor of its leading dimensions
(e.g. per-sample `[batch]` weights for `[batch, d]` values).
"""
import contextlib
import numbers

import tensorflow as tf

from slim import variables

tf1 = tf.compat.v1

__all__ = [
    'accuracy', 'aggregate_metric_map', 'aggregate_metrics',
    'percentage_less', 'precision', 'recall', 'streaming_accuracy',
    'streaming_auc',
    'streaming_concat', 'streaming_mean', 'streaming_mean_absolute_error',
    'streaming_mean_iou', 'streaming_mean_relative_error',
    'streaming_mean_squared_error', 'streaming_mean_tensor',
    'streaming_percentage_less', 'streaming_precision', 'streaming_recall',
    'streaming_recall_at_k', 'streaming_root_mean_squared_error',
    'streaming_sparse_precision_at_k', 'streaming_sparse_recall_at_k',
]

_METRIC_COLLECTIONS = [tf1.GraphKeys.LOCAL_VARIABLES,
                       tf1.GraphKeys.METRIC_VARIABLES]


# ------------------------------------------------------------------ helpers

@contextlib.contextmanager
def _metric_scope(name, default_name, values):
  """A new, uniquely named variable scope for one metric's accumulators.

  The scope is fresh (`name`, `name_1`, ...) so a metric can be created
  twice, and uses AUTO_REUSE so it also works inside a `reuse=True` scope
  (evaluation code often builds the network that way).
  """
  with tf1.variable_scope(None, default_name=name or default_name,
                          values=values) as scope:
    with tf1.variable_scope(scope, reuse=tf1.AUTO_REUSE,
                            auxiliary_name_scope=False):
      yield


def _metric_variable(name, shape, dtype):
  """A zero-initialized local accumulator, created through slim.variables."""
  return variables.variable(
      name, shape=shape, dtype=dtype, initializer=tf1.zeros_initializer(),
      trainable=False, collections=_METRIC_COLLECTIONS)


def _add_to_collections(collections, tensor):
  if collections:
    tf1.add_to_collections(collections, tensor)


def _streaming_metric(batch_sums, compute, metrics_collections,
                      updates_collections):
  """Creates accumulators for `batch_sums` and the metric's value/update ops.

  Call inside `_metric_scope`.

  Args:
    batch_sums: dict accumulator name -> this batch's contribution, a tensor
      with a fully defined static shape. One accumulator per entry, of that
      shape and dtype, starting at zero; the update adds the contribution.
    compute: fn(**accumulators) -> the metric from accumulated values.
    metrics_collections: collections the value op is added to.
    updates_collections: collections the update op is added to.

  Returns:
    (value_op, update_op).
  """
  accumulators = {}
  for key, batch in batch_sums.items():
    if not batch.shape.is_fully_defined():
      raise ValueError(f'{key}: the per-batch statistic needs a static shape '
                       f'for its accumulator. Received shape {batch.shape}; '
                       'give the metric inputs a fully defined shape.')
    accumulators[key] = _metric_variable(key, batch.shape, batch.dtype)
  value = tf.identity(
      compute(**{k: tf.convert_to_tensor(v) for k, v in accumulators.items()}),
      name='value')
  updated = {k: tf1.assign_add(accumulators[k], batch_sums[k])
             for k in batch_sums}
  update_op = tf.identity(compute(**updated), name='update_op')
  _add_to_collections(metrics_collections, value)
  _add_to_collections(updates_collections, update_op)
  return value, update_op


def _squeeze_last(tensor, target_rank):
  """Drops a trailing size-1 dimension when `tensor` has one rank too many."""
  ndims = tensor.shape.ndims
  if (ndims is not None and target_rank is not None
      and ndims == target_rank + 1 and tensor.shape[-1] == 1):
    return tf.squeeze(tensor, [-1])
  return tensor


def _remove_squeezable_dimensions(predictions, labels):
  """Squeezes a trailing 1 from predictions or labels if ranks differ by 1."""
  predictions = _squeeze_last(predictions, labels.shape.ndims)
  labels = _squeeze_last(labels, predictions.shape.ndims)
  return predictions, labels


def _check_compatible(a, b, names, who):
  if not a.shape.is_compatible_with(b.shape):
    raise ValueError(f'{who}: `{names[0]}` and `{names[1]}` must have the same '
                     f'shape. Received: {names[0]}.shape={a.shape}, '
                     f'{names[1]}.shape={b.shape}.')


def _broadcast_weights(weights, values, who):
  """float32 weights of the shape of `values` (ones if `weights` is None).

  `weights` is a scalar, a tensor of the values' shape, or of its leading
  dimensions (broadcast over the trailing ones).
  """
  ones = tf.ones(tf.shape(values), tf.float32)
  if weights is None:
    return ones
  weights = tf.cast(weights, tf.float32)
  w_rank, v_rank = weights.shape.ndims, values.shape.ndims
  if w_rank is not None and v_rank is not None:
    weights = _squeeze_last(weights, v_rank)
    w_rank = weights.shape.ndims
    if w_rank > v_rank:
      raise ValueError(
          f'{who}: `weights` must be a scalar or have a shape that is a '
          f'prefix of the values shape. Received: weights.shape='
          f'{weights.shape}, values.shape={values.shape}.')
    if 0 < w_rank < v_rank:
      weights = tf.reshape(
          weights, tf.concat([tf.shape(weights),
                              tf.ones([v_rank - w_rank], tf.int32)], 0))
  return weights * ones


def _mean(values, weights, metrics_collections, updates_collections, name,
          default_name, transform=None):
  """Streaming weighted mean of `values`, optionally transformed (sqrt)."""
  with _metric_scope(name, default_name, (values, weights)):
    values = tf.cast(values, tf.float32)
    weights = _broadcast_weights(weights, values, default_name)

    def compute(total, count):
      mean = tf.math.divide_no_nan(total, count)
      return transform(mean) if transform else mean

    return _streaming_metric(
        {'total': tf.reduce_sum(values * weights),
         'count': tf.reduce_sum(weights)},
        compute, metrics_collections, updates_collections)


def _true_positive_ratio(counts, missed, metrics_collections,
                         updates_collections):
  """`tp / (tp + counts[missed])` over the batches seen; 0 while undefined.

  Precision for `missed='false_positives'`, recall for 'false_negatives'.
  `counts` holds this batch's sums; only the two used get accumulators,
  under TF-Slim's variable names. Returns (value_op, update_op).
  """
  def compute(true_positives, **misses):
    return tf.math.divide_no_nan(true_positives,
                                 true_positives + misses[missed])

  return _streaming_metric(
      {'true_positives': counts['true_positives'], missed: counts[missed]},
      compute, metrics_collections, updates_collections)


def _matched_pair(predictions, labels, who, dtypes=(None, None),
                  names=('predictions', 'labels')):
  """Two metric inputs as tensors of one shape.

  Each is cast to its entry of `dtypes` (None: converted as it is), a
  trailing size-1 dimension is squeezed where the ranks differ by one, and
  the shapes are checked to be compatible.

  Returns:
    (predictions, labels).

  Raises:
    ValueError: naming both shapes, if they are not compatible.
  """
  predictions, labels = (
      tf.convert_to_tensor(value) if dtype is None else tf.cast(value, dtype)
      for value, dtype in zip((predictions, labels), dtypes))
  predictions, labels = _remove_squeezable_dimensions(predictions, labels)
  _check_compatible(predictions, labels, names, who)
  return predictions, labels


def _float_pair(predictions, labels, who):
  return _matched_pair(predictions, labels, who, (tf.float32, tf.float32))


def _check_integer(value, name, who, minimum=1, allow_none=False):
  """Raises ValueError unless `value` is an int >= `minimum` (or None)."""
  if allow_none and value is None:
    return
  if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
      or value < minimum):
    wanted = ('a positive integer' if minimum == 1
              else f'an integer >= {minimum}')
    if allow_none:
      wanted = 'None or ' + wanted
    raise ValueError(f'{who}: `{name}` must be {wanted}. '
                     f'Received: {name}={value!r}.')


# ------------------------------------------------------------------ means

def streaming_mean(values, weights=None, metrics_collections=None,
                   updates_collections=None, name=None):
  """Weighted mean of all the `values` seen so far.

  Args:
    values: a `Tensor` of any shape.
    weights: optional scalar or tensor of the values' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `mean`).

  Returns:
    (mean, update_op): scalar float32 tensors.
  """
  return _mean(values, weights, metrics_collections, updates_collections,
               name, 'mean')


def streaming_mean_tensor(values, weights=None, metrics_collections=None,
                          updates_collections=None, name=None):
  """Element-wise weighted mean of the `values` seen so far.

  Args:
    values: a `Tensor` with a fully defined static shape.
    weights: optional scalar or tensor of the values' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `mean`).

  Returns:
    (mean, update_op): float32 tensors of the values' shape; an element that
    has only seen zero weight is 0.
  """
  with _metric_scope(name, 'mean', (values, weights)):
    values = tf.cast(values, tf.float32)
    weights = _broadcast_weights(weights, values, 'streaming_mean_tensor')
    return _streaming_metric(
        {'total_tensor': values * weights, 'count_tensor': weights},
        lambda total_tensor, count_tensor: tf.math.divide_no_nan(
            total_tensor, count_tensor),
        metrics_collections, updates_collections)


def streaming_accuracy(predictions, labels, weights=None,
                       metrics_collections=None, updates_collections=None,
                       name=None):
  """Fraction of `predictions` equal to `labels`.

  Args:
    predictions: predicted class ids (any shape).
    labels: true class ids, same shape as `predictions`.
    weights: optional scalar or tensor of the labels' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `accuracy`).

  Returns:
    (accuracy, update_op).

  Raises:
    ValueError: if `predictions` and `labels` have different shapes.
  """
  predictions, labels = _matched_pair(predictions, labels,
                                      'streaming_accuracy')
  if predictions.dtype != labels.dtype:
    predictions = tf.cast(predictions, labels.dtype)
  is_correct = tf.cast(tf.equal(predictions, labels), tf.float32)
  return _mean(is_correct, weights, metrics_collections, updates_collections,
               name, 'accuracy')


def streaming_mean_absolute_error(predictions, labels, weights=None,
                                  metrics_collections=None,
                                  updates_collections=None, name=None):
  """Weighted mean of `|predictions - labels|`.

  Args:
    predictions: predicted values.
    labels: targets, same shape as `predictions`.
    weights: optional scalar or tensor of the inputs' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `mean_absolute_error`).

  Returns:
    (mean_absolute_error, update_op).
  """
  predictions, labels = _float_pair(predictions, labels,
                                    'streaming_mean_absolute_error')
  return _mean(tf.abs(predictions - labels), weights, metrics_collections,
               updates_collections, name, 'mean_absolute_error')


def streaming_mean_squared_error(predictions, labels, weights=None,
                                 metrics_collections=None,
                                 updates_collections=None, name=None):
  """Weighted mean of `(predictions - labels) ** 2`.

  Args:
    predictions: predicted values.
    labels: targets, same shape as `predictions`.
    weights: optional scalar or tensor of the inputs' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `mean_squared_error`).

  Returns:
    (mean_squared_error, update_op).
  """
  predictions, labels = _float_pair(predictions, labels,
                                    'streaming_mean_squared_error')
  return _mean(tf.math.squared_difference(predictions, labels), weights,
               metrics_collections, updates_collections, name,
               'mean_squared_error')


def streaming_root_mean_squared_error(predictions, labels, weights=None,
                                      metrics_collections=None,
                                      updates_collections=None, name=None):
  """Square root of the streaming mean squared error.

  Args:
    predictions: predicted values.
    labels: targets, same shape as `predictions`.
    weights: optional scalar or tensor of the inputs' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `root_mean_squared_error`).

  Returns:
    (root_mean_squared_error, update_op).
  """
  predictions, labels = _float_pair(predictions, labels,
                                    'streaming_root_mean_squared_error')
  return _mean(tf.math.squared_difference(predictions, labels), weights,
               metrics_collections, updates_collections, name,
               'root_mean_squared_error', transform=tf.sqrt)


def streaming_mean_relative_error(predictions, labels, normalizer,
                                  weights=None, metrics_collections=None,
                                  updates_collections=None, name=None):
  """Weighted mean of `|predictions - labels| / normalizer`.

  Elements whose normalizer is 0 count as a relative error of 0.

  Args:
    predictions: predicted values.
    labels: targets, same shape as `predictions`.
    normalizer: divisors, same shape as `predictions`.
    weights: optional scalar or tensor of the inputs' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `mean_relative_error`).

  Returns:
    (mean_relative_error, update_op).
  """
  predictions, labels = _float_pair(predictions, labels,
                                    'streaming_mean_relative_error')
  predictions, normalizer = _matched_pair(
      predictions, normalizer, 'streaming_mean_relative_error',
      (None, tf.float32), ('predictions', 'normalizer'))
  relative_errors = tf.where(
      tf.equal(normalizer, 0.0), tf.zeros_like(labels),
      tf.math.divide_no_nan(tf.abs(labels - predictions), normalizer))
  return _mean(relative_errors, weights, metrics_collections,
               updates_collections, name, 'mean_relative_error')


def streaming_percentage_less(values, threshold, weights=None,
                              metrics_collections=None,
                              updates_collections=None, name=None):
  """Weighted fraction of `values` strictly below `threshold`.

  Args:
    values: a numeric `Tensor`.
    threshold: a scalar.
    weights: optional scalar or tensor of the values' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `percentage_below_threshold`).

  Returns:
    (percentage, update_op): fractions in [0, 1].
  """
  values = tf.convert_to_tensor(values)
  is_below = tf.cast(tf.less(values, tf.cast(threshold, values.dtype)),
                     tf.float32)
  return _mean(is_below, weights, metrics_collections, updates_collections,
               name, 'percentage_below_threshold')


def streaming_recall_at_k(predictions, labels, k, weights=None,
                          metrics_collections=None, updates_collections=None,
                          name=None):
  """Fraction of examples whose label is among the `k` top-scored classes.

  Args:
    predictions: `[batch_size, num_classes]` scores.
    labels: `[batch_size]` (or `[batch_size, 1]`) int class ids.
    k: number of top classes to consider.
    weights: optional scalar or `[batch_size]` weights.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `recall_at_<k>`).

  Returns:
    (recall_at_k, update_op).
  """
  _check_integer(k, 'k', 'streaming_recall_at_k')
  labels = tf.reshape(labels, [-1])
  in_top_k = tf.cast(
      tf.math.in_top_k(targets=labels, predictions=predictions, k=k),
      tf.float32)
  return _mean(in_top_k, weights, metrics_collections, updates_collections,
               name, f'recall_at_{k}')


# -------------------------------------------------- binary classification

def _binary_counts(predictions, labels, weights, who):
  """Weighted float32 sums of tp, fp, fn for boolean-cast inputs."""
  predictions, labels = _matched_pair(predictions, labels, who,
                                      (tf.bool, tf.bool))
  weights = _broadcast_weights(weights, labels, who)

  def count(mask):
    return tf.reduce_sum(tf.cast(mask, tf.float32) * weights)

  return {
      'true_positives': count(predictions & labels),
      'false_positives': count(predictions & ~labels),
      'false_negatives': count(~predictions & labels),
  }


def streaming_precision(predictions, labels, weights=None,
                        metrics_collections=None, updates_collections=None,
                        name=None):
  """Precision `tp / (tp + fp)` of boolean predictions (0 if undefined).

  Args:
    predictions: predictions, cast to bool (non-zero is positive).
    labels: ground truth, cast to bool, same shape as `predictions`.
    weights: optional scalar or tensor of the labels' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `precision`).

  Returns:
    (precision, update_op).
  """
  with _metric_scope(name, 'precision', (predictions, labels, weights)):
    counts = _binary_counts(predictions, labels, weights,
                            'streaming_precision')
    return _true_positive_ratio(counts, 'false_positives',
                                metrics_collections, updates_collections)


def streaming_recall(predictions, labels, weights=None,
                     metrics_collections=None, updates_collections=None,
                     name=None):
  """Recall `tp / (tp + fn)` of boolean predictions (0 if undefined).

  Args:
    predictions: predictions, cast to bool (non-zero is positive).
    labels: ground truth, cast to bool, same shape as `predictions`.
    weights: optional scalar or tensor of the labels' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `recall`).

  Returns:
    (recall, update_op).
  """
  with _metric_scope(name, 'recall', (predictions, labels, weights)):
    counts = _binary_counts(predictions, labels, weights, 'streaming_recall')
    return _true_positive_ratio(counts, 'false_negatives',
                                metrics_collections, updates_collections)


def streaming_auc(predictions, labels, weights=None, num_thresholds=200,
                  metrics_collections=None, updates_collections=None,
                  curve='ROC', name=None):
  """Approximate area under the ROC or PR curve (trapezoidal rule).

  As `tf.metrics.auc`: confusion counts at `num_thresholds` thresholds
  evenly spaced in [0, 1] (the first just below 0, the last just above 1),
  a prediction being positive when it is strictly above the threshold.

  Args:
    predictions: probabilities in [0, 1].
    labels: ground truth, cast to bool, same shape as `predictions`.
    weights: optional scalar or tensor of the labels' (leading) shape.
    num_thresholds: number of thresholds, at least 2.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    curve: 'ROC' or 'PR'.
    name: variable scope name (default `auc`).

  Returns:
    (auc, update_op).

  Raises:
    ValueError: for a bad `curve` or `num_thresholds`.
  """
  if curve not in ('ROC', 'PR'):
    raise ValueError("streaming_auc: `curve` must be 'ROC' or 'PR'. "
                     f'Received: curve={curve!r}.')
  _check_integer(num_thresholds, 'num_thresholds', 'streaming_auc',
                 minimum=2)
  kepsilon = 1e-7  # Puts 0 and 1 predictions strictly inside the ends.
  thresholds = ([0.0 - kepsilon]
                + [(i + 1) / (num_thresholds - 1)
                   for i in range(num_thresholds - 2)]
                + [1.0 + kepsilon])
  with _metric_scope(name, 'auc', (predictions, labels, weights)):
    predictions, labels = _matched_pair(predictions, labels, 'streaming_auc',
                                        (tf.float32, tf.bool))
    weights = _broadcast_weights(weights, labels, 'streaming_auc')
    checks = [
        tf.debugging.assert_greater_equal(
            predictions, 0.0, message='streaming_auc: predictions must be in '
            '[0, 1]; found a value < 0'),
        tf.debugging.assert_less_equal(
            predictions, 1.0, message='streaming_auc: predictions must be in '
            '[0, 1]; found a value > 1'),
    ]
    with tf.control_dependencies(checks):
      predictions = tf.reshape(predictions, [1, -1])
    labels = tf.reshape(labels, [1, -1])
    weights = tf.reshape(weights, [1, -1])
    thresholds = tf.constant(thresholds, tf.float32, shape=[num_thresholds, 1])
    pred_pos = predictions > thresholds  # [num_thresholds, num_predictions]

    def count(mask):
      return tf.reduce_sum(tf.cast(mask, tf.float32) * weights, axis=1)

    counts = {
        'true_positives': count(pred_pos & labels),
        'false_negatives': count(~pred_pos & labels),
        'true_negatives': count(~pred_pos & ~labels),
        'false_positives': count(pred_pos & ~labels),
    }

    def compute(true_positives, false_negatives, true_negatives,
                false_positives):
      epsilon = 1.0e-6
      recall = ((true_positives + epsilon)
                / (true_positives + false_negatives + epsilon))
      if curve == 'ROC':
        x = false_positives / (false_positives + true_negatives + epsilon)
        y = recall
      else:
        x = recall
        y = ((true_positives + epsilon)
             / (true_positives + false_positives + epsilon))
      return tf.reduce_sum((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2.0)

    return _streaming_metric(counts, compute, metrics_collections,
                             updates_collections)


# --------------------------------------------------------- multi-class

def _sparse_at_k_counts(predictions, labels, k, class_id, weights, who):
  """Weighted float64 tp, fp, fn of the top-k classes against label sets."""
  _check_integer(k, 'k', who)
  predictions = tf.convert_to_tensor(predictions)
  labels = tf.cast(labels, tf.int64)
  if labels.shape.ndims == predictions.shape.ndims - 1:
    labels = tf.expand_dims(labels, -1)
  top_k = tf.cast(tf.nn.top_k(predictions, k).indices, tf.int64)
  if class_id is None:
    tp = tf.sets.size(tf.sets.intersection(top_k, labels))
    fp = tf.sets.size(tf.sets.difference(top_k, labels))
    fn = tf.sets.size(tf.sets.difference(labels, top_k))
  else:
    in_top_k = tf.reduce_any(tf.equal(top_k, class_id), axis=-1)
    in_labels = tf.reduce_any(tf.equal(labels, class_id), axis=-1)
    tp = in_top_k & in_labels
    fp = in_top_k & ~in_labels
    fn = ~in_top_k & in_labels
  tp = tf.cast(tp, tf.float64)
  weights = tf.cast(_broadcast_weights(weights, tp, who), tf.float64)

  def total(per_example):
    return tf.reduce_sum(tf.cast(per_example, tf.float64) * weights)

  return {'true_positives': total(tp), 'false_positives': total(fp),
          'false_negatives': total(fn)}


def _at_k_name(prefix, k, class_id):
  return f'{prefix}_at_{k}' + ('' if class_id is None else f'_class{class_id}')


def streaming_sparse_recall_at_k(predictions, labels, k, class_id=None,
                                 weights=None, metrics_collections=None,
                                 updates_collections=None, name=None):
  """Recall of the top-`k` predicted classes against sets of labels.

  Per example, true positives are the labels among the `k` top-scored
  classes and false negatives the labels outside them (label values outside
  [0, num_classes) are always false negatives). The metric is
  sum(tp) / (sum(tp) + sum(fn)), 0 before any label is seen. With
  `class_id`, only that class counts.

  Args:
    predictions: `[batch_size, num_classes]` scores.
    labels: `[batch_size]` or `[batch_size, num_labels]` int class ids.
    k: number of top classes to consider.
    class_id: optional class whose recall is computed.
    weights: optional scalar or `[batch_size]` weights.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `recall_at_<k>`).

  Returns:
    (recall, update_op): float64 scalars.
  """
  with _metric_scope(name, _at_k_name('recall', k, class_id),
                     (predictions, labels, weights)):
    counts = _sparse_at_k_counts(predictions, labels, k, class_id, weights,
                                 'streaming_sparse_recall_at_k')
    return _true_positive_ratio(counts, 'false_negatives',
                                metrics_collections, updates_collections)


def streaming_sparse_precision_at_k(predictions, labels, k, class_id=None,
                                    weights=None, metrics_collections=None,
                                    updates_collections=None, name=None):
  """Precision of the top-`k` predicted classes against sets of labels.

  Per example, true positives are the top-`k` classes that are labels and
  false positives the top-`k` classes that are not. With `class_id`, only
  that class counts.

  Args:
    predictions: `[batch_size, num_classes]` scores.
    labels: `[batch_size]` or `[batch_size, num_labels]` int class ids.
    k: number of top classes to consider.
    class_id: optional class whose precision is computed.
    weights: optional scalar or `[batch_size]` weights.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `precision_at_<k>`).

  Returns:
    (precision, update_op): float64 scalars.
  """
  with _metric_scope(name, _at_k_name('precision', k, class_id),
                     (predictions, labels, weights)):
    counts = _sparse_at_k_counts(predictions, labels, k, class_id, weights,
                                 'streaming_sparse_precision_at_k')
    return _true_positive_ratio(counts, 'false_positives',
                                metrics_collections, updates_collections)


def streaming_mean_iou(predictions, labels, num_classes, weights=None,
                       metrics_collections=None, updates_collections=None,
                       name=None):
  """Mean intersection-over-union over the classes seen so far.

  Accumulates a `[num_classes, num_classes]` confusion matrix (rows: labels,
  columns: predictions); per class IoU = tp / (tp + fp + fn), averaged over
  the classes that occur in the labels or the predictions. Unlike
  `tf.metrics.mean_iou`, whose update op returned the confusion matrix, the
  update op returns the mean IoU like every other metric here.

  Args:
    predictions: predicted class ids, any shape.
    labels: true class ids, same shape as `predictions`.
    num_classes: the number of classes.
    weights: optional scalar or tensor of the labels' (leading) shape.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `mean_iou`).

  Returns:
    (mean_iou, update_op): float32 scalars.

  Raises:
    ValueError: if `num_classes` is not a positive integer.
  """
  _check_integer(num_classes, 'num_classes', 'streaming_mean_iou')
  with _metric_scope(name, 'mean_iou', (predictions, labels, weights)):
    predictions, labels = _matched_pair(predictions, labels,
                                        'streaming_mean_iou',
                                        (tf.int64, tf.int64))
    weights = _broadcast_weights(weights, labels, 'streaming_mean_iou')
    confusion = tf.math.confusion_matrix(
        tf.reshape(labels, [-1]), tf.reshape(predictions, [-1]),
        num_classes=num_classes, weights=tf.reshape(weights, [-1]),
        dtype=tf.float64)

    def compute(total_confusion_matrix):
      cm = tf.cast(total_confusion_matrix, tf.float32)
      diag = tf.linalg.diag_part(cm)
      union = tf.reduce_sum(cm, 0) + tf.reduce_sum(cm, 1) - diag
      num_valid = tf.reduce_sum(tf.cast(tf.not_equal(union, 0), tf.float32))
      iou = tf.math.divide_no_nan(diag, union)
      return tf.math.divide_no_nan(tf.reduce_sum(iou), num_valid)

    return _streaming_metric({'total_confusion_matrix': confusion}, compute,
                             metrics_collections, updates_collections)


# ------------------------------------------------------------------ concat

def streaming_concat(values, axis=0, max_size=None, metrics_collections=None,
                     updates_collections=None, name=None):
  """Concatenates the `values` seen so far along `axis`.

  The buffer grows by doubling, so streaming N rows costs O(N) copies.

  Args:
    values: a `Tensor`; every dimension but `axis` needs a static size.
    axis: the dimension to concatenate along.
    max_size: optional int; rows beyond it are dropped.
    metrics_collections: collections to add the value op to.
    updates_collections: collections to add the update op to.
    name: variable scope name (default `streaming_concat`).

  Returns:
    (concatenated, update_op): the values so far, and an op that appends a
    batch and returns the number of rows stored.

  Raises:
    ValueError: if the rank of `values` is unknown, `axis` is out of range,
      a non-`axis` dimension is unknown, or `max_size` is not a positive int.
  """
  values = tf.convert_to_tensor(values)
  ndim = values.shape.ndims
  if ndim is None:
    raise ValueError('streaming_concat: `values` must have a known rank. '
                     f'Received: values.shape={values.shape}.')
  if not -ndim <= axis < ndim:
    raise ValueError(f'streaming_concat: `axis` must be in [{-ndim}, {ndim}) '
                     f'for values of rank {ndim}. Received: axis={axis}.')
  axis %= ndim
  fixed_shape = [d for n, d in enumerate(values.shape.as_list()) if n != axis]
  if any(d is None for d in fixed_shape):
    raise ValueError(
        'streaming_concat: every dimension of `values` except `axis` needs a '
        f'static size. Received: values.shape={values.shape}, axis={axis}.')
  _check_integer(max_size, 'max_size', 'streaming_concat', allow_none=True)
  with _metric_scope(name, 'streaming_concat', (values,)):
    # Rows are stored with `axis` moved to the front, so that appends write a
    # contiguous slice.
    array = variables.local_variable(
        tf.zeros([max_size or 0] + fixed_shape, values.dtype),
        validate_shape=False, name='array')
    tf1.add_to_collection(tf1.GraphKeys.METRIC_VARIABLES, array)
    size = _metric_variable('size', [], tf.int32)

    to_front = [axis] + [n for n in range(ndim) if n != axis]
    from_front = [to_front.index(n) for n in range(ndim)]
    valid = array[:size]
    valid.set_shape([None] + fixed_shape)
    value = tf.transpose(valid, from_front, name='concat')

    batch_size = tf.shape(values)[axis]
    if max_size is not None:
      batch_size = tf.minimum(batch_size, max_size - size)
    batch = tf.transpose(values, to_front)[:batch_size]
    new_size = size + batch_size
    capacity = tf.shape(array)[0]

    def grow():
      old = tf.convert_to_tensor(array)
      new_capacity = tf.maximum(new_size, 2 * capacity)
      with tf.control_dependencies([old]):
        resized = tf1.assign(
            array, tf.zeros(tf.concat([[new_capacity],
                                       tf.constant(fixed_shape, tf.int32)], 0),
                            values.dtype), validate_shape=False)
      with tf.control_dependencies([resized]):
        copied = array[:size].assign(old[:size])
      with tf.control_dependencies([copied]):
        return tf.no_op()

    maybe_grow = tf.cond(new_size > capacity, grow, tf.no_op)
    with tf.control_dependencies([maybe_grow]):
      appended = array[size:new_size].assign(batch)
    with tf.control_dependencies([appended]):
      update_op = tf1.assign(size, new_size)
    _add_to_collections(metrics_collections, value)
    _add_to_collections(updates_collections, update_op)
    return value, update_op


# --------------------------------------------------------------- aggregation

def aggregate_metrics(*value_update_tuples):
  """Splits `(value_op, update_op)` pairs into two lists.

  Args:
    *value_update_tuples: metric results, `(value_op, update_op)` each.

  Returns:
    (list of value ops, list of update ops).

  Raises:
    ValueError: if no pair is given.
  """
  if not value_update_tuples:
    raise ValueError('aggregate_metrics: expected at least one '
                     '(value_op, update_op) pair. Received none.')
  value_ops, update_ops = zip(*value_update_tuples)
  return list(value_ops), list(update_ops)


def aggregate_metric_map(names_to_tuples):
  """Splits a dict of name -> `(value_op, update_op)` into two dicts.

  Args:
    names_to_tuples: dict metric name -> `(value_op, update_op)`.

  Returns:
    (dict name -> value op, dict name -> update op).
  """
  names = list(names_to_tuples)
  value_ops = [names_to_tuples[n][0] for n in names]
  update_ops = [names_to_tuples[n][1] for n in names]
  return dict(zip(names, value_ops)), dict(zip(names, update_ops))


# ---------------------------------------- TF1 `tf.metrics` names and order

def _tf1_pair(labels, predictions):
  """(predictions, labels) as tensors; a scalar prediction is broadcast to
  the labels' shape, as TF1's element-wise ops did."""
  labels = tf.convert_to_tensor(labels)
  predictions = tf.convert_to_tensor(predictions)
  if predictions.shape.ndims == 0:
    predictions = tf.broadcast_to(predictions, tf.shape(labels))
  return predictions, labels


def accuracy(labels, predictions, weights=None, metrics_collections=None,
             updates_collections=None, name=None):
  """`tf.compat.v1.metrics.accuracy`: labels first, as TF1 has it.

  The TF-Slim README calls `slim.metrics.accuracy(predictions, labels)`;
  equality is symmetric, so both orders give the same value. See
  `streaming_accuracy` for the arguments.
  """
  predictions, labels = _tf1_pair(labels, predictions)
  return streaming_accuracy(predictions, labels, weights, metrics_collections,
                            updates_collections, name)


def precision(labels, predictions, weights=None, metrics_collections=None,
              updates_collections=None, name=None):
  """`tf.compat.v1.metrics.precision`: of the (non-zero) predictions, the
  fraction that are (non-zero) labels; 0 when nothing was predicted.

  See `streaming_precision` for the arguments.
  """
  predictions, labels = _tf1_pair(labels, predictions)
  return streaming_precision(predictions, labels, weights,
                             metrics_collections, updates_collections, name)


def recall(labels, predictions, weights=None, metrics_collections=None,
           updates_collections=None, name=None):
  """`tf.compat.v1.metrics.recall`: of the (non-zero) labels, the fraction
  that were predicted; 0 when there was none.

  See `streaming_recall` for the arguments.
  """
  predictions, labels = _tf1_pair(labels, predictions)
  return streaming_recall(predictions, labels, weights, metrics_collections,
                          updates_collections, name)


# Short name used in the TF-Slim README.
percentage_less = streaming_percentage_less
