"""image_classifier/multi_label_metrics.py against references from the
definitions.

The references below are written the slow, obvious way (one pass over the
data per threshold, per class), independently of the module's sorted
cumulative sums, so that the two cannot agree by sharing a mistake.
"""
import numpy as np
import pytest

from image_classifier import multi_label_metrics as mlm


# --------------------------------------------------------------- references
def _reference_ap(scores, targets):
  """AP from the definition: at each distinct score t, from the highest,
  predict `score >= t`; AP = sum of (R_n - R_{n-1}) * P_n; None without
  positives."""
  scores = np.asarray(scores, np.float32)
  targets = np.asarray(targets, bool)
  num_positives = int(targets.sum())
  if num_positives == 0:
    return None
  ap, previous_recall = 0.0, 0.0
  for t in sorted(set(scores.tolist()), reverse=True):
    predicted = scores >= t
    hits = int(np.sum(predicted & targets))
    precision = hits / int(np.sum(predicted))
    recall = hits / num_positives
    ap += (recall - previous_recall) * precision
    previous_recall = recall
  return ap


def _reference_figures(scores, targets, threshold):
  """Per-class (precision, recall, F1) with None where undefined, and the
  micro counts, by counting the decisions one class at a time."""
  per_class, total = [], np.zeros(3, np.int64)
  for c in range(scores.shape[1]):
    tp = fp = fn = 0
    for score, target in zip(scores[:, c], targets[:, c]):
      predicted = score > threshold
      tp += int(predicted and target)
      fp += int(predicted and not target)
      fn += int(target and not predicted)
    total += (tp, fp, fn)
    per_class.append(_prf(tp, fp, fn))
  return per_class, _prf(*total)


def _prf(tp, fp, fn):
  precision = tp / (tp + fp) if tp + fp else None
  recall = tp / (tp + fn) if tp + fn else None
  f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
  return precision, recall, f1


def _mean_of_defined(values):
  defined = [v for v in values if v is not None]
  return sum(defined) / len(defined) if defined else None


def _assert_close(actual, expected):
  if expected is None:
    assert actual is None
  else:
    assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12)


def _tally(scores, targets, batch_size=7, threshold=0.5):
  """A tally fed in uneven batches (the last one partial)."""
  tally = mlm.MultiLabelTally(scores.shape[1], threshold=threshold)
  for start in range(0, len(scores), batch_size):
    tally.add(scores[start:start + batch_size],
              targets[start:start + batch_size])
  return tally


# ------------------------------------------------------- hand-made examples
def test_average_precision_of_a_hand_computed_ranking():
  # scikit-learn's own average_precision_score example. Ranked by score:
  #   0.8 positive   P = 1/1, R = 1/2
  #   0.4 negative   P = 1/2, R = 1/2 (no recall gained: no term)
  #   0.35 positive  P = 2/3, R = 2/2
  #   0.1 negative   P = 2/4, R = 2/2 (no recall gained)
  # AP = (1/2 - 0) * 1 + (1 - 1/2) * 2/3 = 1/2 + 1/3 = 5/6.
  scores = [0.1, 0.4, 0.35, 0.8]
  targets = [0, 0, 1, 1]
  assert mlm.average_precision(scores, targets) == pytest.approx(5 / 6)
  assert _reference_ap(scores, targets) == pytest.approx(5 / 6)


def test_tied_scores_form_one_threshold():
  # A positive and a negative tie at 0.8: one threshold with P = 1/2 and
  # R = 1, so AP = 1/2 whichever order the tie is listed in (ranking the
  # positive first would claim 1).
  for order in ([1, 0], [0, 1]):
    assert mlm.average_precision([0.8, 0.8], order) == pytest.approx(0.5)
  # 0.9 positive (P 1, R 1/2), then 0.8 tie of one positive and one
  # negative (P 2/3, R 1): AP = 1/2 + 1/2 * 2/3 = 5/6.
  assert mlm.average_precision([0.8, 0.9, 0.3, 0.8], [0, 1, 0, 1]) == \
      pytest.approx(5 / 6)


def test_perfect_ranking_has_ap_one():
  rng = np.random.default_rng(3)
  targets = rng.random(40) < 0.3
  scores = np.where(targets, 0.6 + 0.4 * rng.random(40), 0.5 * rng.random(40))
  assert mlm.average_precision(scores, targets) == 1.0
  # Also with every positive tied at the top.
  assert mlm.average_precision(np.where(targets, 1.0, 0.2), targets) == 1.0


def test_class_without_positives_has_no_ap():
  assert np.isnan(mlm.average_precision([0.3, 0.9], [0, 0]))


def test_hand_computed_tally():
  # Three examples, four classes, threshold 0.5 (strictly above).
  #   class 0: scores .9 .6 .4, true 1 0 1: decisions 1 1 0
  #            tp 1 fp 1 fn 1: P 1/2, R 1/2, F1 2/4 = 1/2
  #            ranking .9+ .6- .4+: AP = 1/2 * 1 + 1/2 * 2/3 = 5/6
  #   class 1: scores .2 .7 .1, true 0 1 0: tp 1: P = R = F1 = 1, AP 1
  #   class 2: scores .1 .2 .3, never true, never predicted:
  #            AP, P, R and F1 undefined (None), out of every mean
  #   class 3: scores .6 .1 .1, never true, predicted once:
  #            tp 0 fp 1: P 0, R undefined, F1 0 / (0 + 1 + 0) = 0; no AP
  # micro: tp 2, fp 2, fn 1: P 2/4, R 2/3, F1 4 / (4 + 2 + 1) = 4/7
  # macro: P (1/2 + 1 + 0) / 3 = 1/2, R (1/2 + 1) / 2 = 3/4,
  #        F1 (1/2 + 1 + 0) / 3 = 1/2; mAP (5/6 + 1) / 2 = 11/12
  scores = np.array([[0.9, 0.2, 0.1, 0.6],
                     [0.6, 0.7, 0.2, 0.1],
                     [0.4, 0.1, 0.3, 0.1]])
  targets = np.array([[1, 0, 0, 0],
                      [0, 1, 0, 0],
                      [1, 0, 0, 0]])
  result = _tally(scores, targets, batch_size=2).result()
  expected = {'mAP': 11 / 12, 'Precision_micro': 1 / 2,
              'Recall_micro': 2 / 3, 'F1_micro': 4 / 7,
              'Precision_macro': 1 / 2, 'Recall_macro': 3 / 4,
              'F1_macro': 1 / 2}
  for key, value in expected.items():
    assert result[key] == pytest.approx(value), key
  assert result['threshold'] == 0.5
  assert result['num_examples'] == 3
  assert result['num_classes_without_positives'] == 2
  assert result['per_class'] == [
      {'class': 0, 'AP': pytest.approx(5 / 6), 'precision': 0.5,
       'recall': 0.5, 'F1': 0.5, 'support': 2},
      {'class': 1, 'AP': 1.0, 'precision': 1.0, 'recall': 1.0, 'F1': 1.0,
       'support': 1},
      {'class': 2, 'AP': None, 'precision': None, 'recall': None,
       'F1': None, 'support': 0},
      {'class': 3, 'AP': None, 'precision': 0.0, 'recall': None,
       'F1': 0.0, 'support': 0},
  ]


def test_class_never_predicted_above_threshold():
  # Class 1 is true twice but never scores above 0.5: its precision is
  # undefined, its recall and F1 are 0, and its AP still ranks it.
  scores = np.array([[0.9, 0.4], [0.2, 0.1], [0.7, 0.3]])
  targets = np.array([[1, 1], [0, 0], [1, 1]])
  result = _tally(scores, targets).result()
  assert result['per_class'][1] == {
      'class': 1, 'AP': 1.0, 'precision': None, 'recall': 0.0, 'F1': 0.0,
      'support': 2}
  assert result['Precision_macro'] == 1.0  # Class 0 alone.
  assert result['Recall_macro'] == 0.5
  assert result['F1_macro'] == 0.5


def test_threshold_is_strict_and_can_be_overridden():
  scores = np.array([[0.5], [0.8]])
  targets = np.array([[1], [0]])
  tally = _tally(scores, targets)
  # At 0.5 the first example is not predicted (not strictly above).
  assert tally.result()['per_class'][0]['precision'] == 0.0
  assert tally.result()['Recall_micro'] == 0.0
  low = tally.result(threshold=0.4)
  assert low['threshold'] == 0.4
  assert low['Precision_micro'] == 0.5
  assert low['Recall_micro'] == 1.0


# ------------------------------------------------------------ random cases
@pytest.mark.parametrize('seed', range(4))
def test_random_cases_match_the_references(seed):
  rng = np.random.default_rng(seed)
  num_examples, num_classes = int(rng.integers(1, 60)), 6
  # Two decimals: many ties. Class 5 never true, class 4 never predicted.
  scores = np.round(rng.random((num_examples, num_classes)), 2)
  targets = rng.random((num_examples, num_classes)) < 0.35
  targets[:, 5] = False
  scores[:, 4] *= 0.25
  threshold = float(rng.choice([0.3, 0.5, 0.71]))
  result = _tally(scores, targets, batch_size=int(rng.integers(1, 9)),
                  threshold=threshold).result()

  scores32 = scores.astype(np.float32)
  aps = [_reference_ap(scores32[:, c], targets[:, c])
         for c in range(num_classes)]
  per_class, micro = _reference_figures(scores32, targets, threshold)
  _assert_close(result['mAP'], _mean_of_defined(aps))
  for i, name in enumerate(['Precision', 'Recall', 'F1']):
    _assert_close(result[f'{name}_micro'], micro[i])
    _assert_close(result[f'{name}_macro'],
                  _mean_of_defined([p[i] for p in per_class]))
  for c, entry in enumerate(result['per_class']):
    _assert_close(entry['AP'], aps[c])
    for i, name in enumerate(['precision', 'recall', 'F1']):
      _assert_close(entry[name], per_class[c][i])
    assert entry['support'] == int(targets[:, c].sum())
  assert result['num_examples'] == num_examples


def test_larger_random_case_is_exact():
  rng = np.random.default_rng(7)
  scores = rng.random((500, 3)).astype(np.float32)
  scores[:, 1] = np.round(scores[:, 1], 1)  # Heavy ties.
  targets = rng.random((500, 3)) < (0.05, 0.5, 0.9)
  aps = _tally(scores, targets, batch_size=64).average_precisions()
  for c in range(3):
    assert aps[c] == pytest.approx(_reference_ap(scores[:, c], targets[:, c]),
                                   rel=1e-12)


# ---------------------------------------------------------------- the tally
def test_result_is_repeatable_and_tally_keeps_growing():
  rng = np.random.default_rng(1)
  scores = rng.random((20, 3))
  targets = rng.random((20, 3)) < 0.5
  tally = _tally(scores[:10], targets[:10], batch_size=3)
  first = tally.result()
  assert tally.result() == first
  for start in range(10, 20, 4):
    tally.add(scores[start:start + 4], targets[start:start + 4])
  assert tally.result() == _tally(scores, targets).result()
  assert tally.num_examples == 20


def test_empty_tally_has_no_figures():
  result = mlm.MultiLabelTally(2).result()
  assert result['num_examples'] == 0
  assert result['mAP'] is None and result['F1_micro'] is None
  assert result['num_classes_without_positives'] == 2


def test_scores_are_kept_as_float32():
  tally = mlm.MultiLabelTally(1)
  # Equal in float32: one tie, so AP = 1/2 (P 1/2 at R 1).
  tally.add(np.array([[0.3], [0.3 + 1e-12]]), np.array([[1], [0]]))
  assert tally.average_precisions()[0] == pytest.approx(0.5)


@pytest.mark.parametrize('scores,targets,message', [
    (np.zeros((2, 3)), np.zeros((2, 4)), r'targets\.shape=\(2, 4\)'),
    (np.zeros((2, 4)), np.zeros((3, 3)), r'scores\.shape=\(2, 4\)'),
    (np.zeros(3), np.zeros(3), r'must have shape \[batch, 3\]'),
    (np.full((1, 3), np.nan), np.zeros((1, 3)), 'Received 3 NaN'),
    (np.zeros((1, 3)), np.array([[0, 2, 0.5]]), r'Received values \[0\.0, '
     r'0\.5, 2\.0\]'),
])
def test_bad_batches_are_refused(scores, targets, message):
  tally = mlm.MultiLabelTally(3)
  with pytest.raises(ValueError, match=message):
    tally.add(scores, targets)
  assert tally.num_examples == 0
