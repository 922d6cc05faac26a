"""The figures of a multi-label evaluation: mAP and thresholded P/R/F1.

A multi-label network scores every class independently (one sigmoid per
class) and an example may carry any number of true classes. Evaluation
fetches each batch's probabilities and multi-hot targets and feeds them
into a `MultiLabelTally`; at the end `result()` computes, exactly over the
whole split:

  mAP               the mean over classes of the average precision (AP),
                    as scikit-learn's
                    `average_precision_score(y_true, y_score, average='macro')`
  Precision_micro,  precision, recall and F1 of the decisions
  Recall_micro,     `score > threshold`, pooled over every (example, class)
  F1_micro          pair
  Precision_macro,  the same figures per class, then averaged over classes
  Recall_macro,
  F1_macro
  per_class         per class: AP, precision, recall, F1 and support (the
                    number of examples the class is true for)

Undefined figures. A figure whose denominator is zero (AP or recall of a
class that no example carries, precision of a class never predicted, F1
of a class neither present nor predicted) is undefined: it is None in
the result and left out of the macro mean (mAP included), so that a class
missing from a split neither counts as perfect nor as a failure. This is
scikit-learn's `zero_division=np.nan` convention; its default
(`zero_division='warn'`) would count these as 0 instead. A class that is
present but never predicted still counts in F1_macro (its F1 is 0), so
F1_macro is the figure that penalises a network that gives up on a class.

The threshold follows slim.metrics and tf.metrics: an example is predicted
to carry a class when its probability is strictly above the threshold.

Everything here is numpy, so it is tested without TensorFlow.
"""
import numpy as np

DEFAULT_THRESHOLD = 0.5
# The figures of `MultiLabelTally.result` over the whole split, as
# evaluation's metrics.json and validation report them.
FIGURE_NAMES = ('mAP', 'F1_micro', 'F1_macro', 'Precision_micro',
                'Recall_micro', 'Precision_macro', 'Recall_macro')


# ----------------------------------------------------------------- one class
def average_precision(scores, targets):
  """The average precision of one class's ranking.

  The precision-recall curve is taken at every distinct score (examples
  with equal scores enter together, as one threshold), without
  interpolation: AP = sum over thresholds n of (R_n - R_{n-1}) * P_n with
  R_0 = 0, as scikit-learn's `average_precision_score`.

  Args:
    scores: float array [N], the class's probability for each example.
    targets: array [N] of 0/1, whether each example carries the class.

  Returns:
    The AP as a float; NaN when no example carries the class.
  """
  scores = np.asarray(scores).reshape(-1)
  targets = np.asarray(targets).reshape(-1).astype(bool)
  num_positives = int(np.count_nonzero(targets))
  if num_positives == 0:
    return float('nan')
  order = np.argsort(-scores, kind='stable')
  ranked_scores = scores[order]
  true_positives = np.cumsum(targets[order])
  # The last example of each run of equal scores closes a threshold.
  closes = np.append(np.flatnonzero(np.diff(ranked_scores)),
                     len(ranked_scores) - 1)
  hits = true_positives[closes].astype(np.float64)
  precision = hits / (closes + 1)
  recall_gain = np.diff(hits, prepend=0.0) / num_positives
  return float(np.sum(recall_gain * precision))


def _ratio(numerator, denominator):
  """numerator / denominator elementwise, NaN where the denominator is 0."""
  numerator = np.asarray(numerator, np.float64)
  denominator = np.asarray(denominator, np.float64)
  with np.errstate(divide='ignore', invalid='ignore'):
    return np.where(denominator > 0, numerator / denominator, np.nan)


def decision_counts(scores, targets, threshold=DEFAULT_THRESHOLD):
  """True positives, false positives and false negatives per class.

  Args:
    scores: float array [N, C] of probabilities.
    targets: array [N, C] of 0/1.
    threshold: a class is predicted where its score is above it.

  Returns:
    (tp, fp, fn): int arrays [C].
  """
  predicted = np.asarray(scores) > threshold
  targets = np.asarray(targets).astype(bool)
  true_positives = np.count_nonzero(predicted & targets, axis=0)
  false_positives = np.count_nonzero(predicted & ~targets, axis=0)
  false_negatives = np.count_nonzero(~predicted & targets, axis=0)
  return true_positives, false_positives, false_negatives


def precision_recall_f1(true_positives, false_positives, false_negatives):
  """Precision, recall and F1 from decision counts (NaN where undefined).

  F1 is 2 tp / (2 tp + fp + fn), the harmonic mean of precision and
  recall where both are defined; it is 0, not undefined, for a class that
  is present but never predicted (or predicted but never present).

  Args:
    true_positives, false_positives, false_negatives: int arrays (or
      scalars) of counts.

  Returns:
    (precision, recall, f1): float arrays of the counts' shape.
  """
  tp = np.asarray(true_positives, np.float64)
  fp = np.asarray(false_positives, np.float64)
  fn = np.asarray(false_negatives, np.float64)
  return (_ratio(tp, tp + fp), _ratio(tp, tp + fn),
          _ratio(2 * tp, 2 * tp + fp + fn))


def _number_or_none(value):
  """JSON has no NaN: an undefined figure is None."""
  return None if np.isnan(value) else float(value)


def _defined_mean(values):
  """The mean of the defined (non-NaN) values; NaN when there are none."""
  values = np.asarray(values, np.float64)
  defined = values[~np.isnan(values)]
  return float(defined.mean()) if defined.size else float('nan')


# ------------------------------------------------------------- accumulation
class MultiLabelTally:
  """Accumulates scores and targets of a multi-label evaluation.

  Exact AP needs every score of the split (the ranking is global), so the
  tally keeps them: float32 scores and bool targets, 5 bytes per class per
  example (1000 classes x 50,000 examples: 250 MB). While `result` runs,
  the batches are joined into one array per kind, which briefly doubles
  that. Scores are compared as float32, the precision a network outputs;
  float64 scores that differ only beyond float32 become ties.
  """

  def __init__(self, num_classes, threshold=DEFAULT_THRESHOLD):
    """Starts an empty tally.

    Args:
      num_classes: the number of classes the network scores.
      threshold: the default decision threshold of `result`.
    """
    self.num_classes = num_classes
    self.threshold = threshold
    self.num_examples = 0
    self._scores = []
    self._targets = []

  def add(self, scores, targets):
    """Keeps one batch.

    Args:
      scores: float array [batch, num_classes], probabilities in [0, 1].
      targets: array [batch, num_classes] of 0/1 (multi-hot).

    Raises:
      ValueError: if a shape is not [batch, num_classes] (the same batch
        for both), a score is not finite or a target is not 0 or 1.
    """
    scores = np.asarray(scores, np.float32)
    targets = np.asarray(targets)
    expected = (scores.shape[0] if scores.ndim else None, self.num_classes)
    for name, array in (('scores', scores), ('targets', targets)):
      if array.shape != expected:
        raise ValueError(
            f'MultiLabelTally.add: `{name}` must have shape [batch, '
            f'{self.num_classes}] with the batch of `scores`. Received: '
            f'scores.shape={scores.shape}, targets.shape={targets.shape}.')
    if not np.all(np.isfinite(scores)):
      raise ValueError(
          'MultiLabelTally.add: `scores` must be finite. Received '
          f'{np.count_nonzero(~np.isfinite(scores))} NaN or infinite '
          'values.')
    if not np.all((targets == 0) | (targets == 1)):
      raise ValueError(
          'MultiLabelTally.add: `targets` must be multi-hot (0 or 1). '
          f'Received values {np.unique(targets)[:10].tolist()}.')
    self._scores.append(scores)
    self._targets.append(targets.astype(bool))
    self.num_examples += len(scores)

  def _joined(self):
    """(scores [N, C], targets [N, C]) of every batch so far, joined once
    and kept as one batch, so that calling `result` again is cheap."""
    if len(self._scores) != 1:
      self._scores = [_column_major(self._scores, np.float32,
                                    self.num_classes)]
      self._targets = [_column_major(self._targets, bool, self.num_classes)]
    return self._scores[0], self._targets[0]

  def average_precisions(self):
    """The AP of every class (NaN where no example carries the class).

    Returns:
      A float array [num_classes].
    """
    scores, targets = self._joined()
    return np.array([average_precision(scores[:, c], targets[:, c])
                     for c in range(self.num_classes)], np.float64)

  def result(self, threshold=None):
    """The figures of everything added so far.

    Args:
      threshold: the decision threshold; None uses the tally's.

    Returns:
      A dict: mAP, Precision_micro, Recall_micro, F1_micro,
      Precision_macro, Recall_macro, F1_macro (floats, None where
      undefined), threshold, num_examples, num_classes_without_positives,
      and per_class: a list of {class, AP, precision, recall, F1, support}
      in class order.
    """
    threshold = self.threshold if threshold is None else threshold
    scores, targets = self._joined()
    counts = decision_counts(scores, targets, threshold)
    precision, recall, f1 = precision_recall_f1(*counts)
    micro = precision_recall_f1(*(np.sum(c) for c in counts))
    aps = self.average_precisions()
    support = np.count_nonzero(targets, axis=0)
    return {
        'mAP': _number_or_none(_defined_mean(aps)),
        'Precision_micro': _number_or_none(micro[0]),
        'Recall_micro': _number_or_none(micro[1]),
        'F1_micro': _number_or_none(micro[2]),
        'Precision_macro': _number_or_none(_defined_mean(precision)),
        'Recall_macro': _number_or_none(_defined_mean(recall)),
        'F1_macro': _number_or_none(_defined_mean(f1)),
        'threshold': float(threshold),
        'num_examples': self.num_examples,
        'num_classes_without_positives': int(np.sum(support == 0)),
        'per_class': [
            {'class': c, 'AP': _number_or_none(aps[c]),
             'precision': _number_or_none(precision[c]),
             'recall': _number_or_none(recall[c]),
             'F1': _number_or_none(f1[c]), 'support': int(support[c])}
            for c in range(self.num_classes)],
    }


def _column_major(batches, dtype, num_classes):
  """The batches stacked into one [N, C] array stored column by column,
  so that each class's column (what AP sorts) is contiguous."""
  total = sum(len(batch) for batch in batches)
  joined = np.empty((total, num_classes), dtype, order='F')
  start = 0
  for batch in batches:
    joined[start:start + len(batch)] = batch
    start += len(batch)
  return joined
