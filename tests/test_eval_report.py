"""image_classifier/eval_report.py against independent numpy computations.

The expected figures are computed from the raw (label, prediction) pairs,
not from the confusion matrix the module builds, so a wrong matrix and
wrong figures derived from it cannot agree by accident.
"""
import json
import os

import numpy as np
from PIL import Image
import pytest

from image_classifier import eval_report


def _examples(num_classes, size, seed=0, out_of_range=0):
  """Random labels, predictions (right about half the time), confidences
  with ties, and keys; `out_of_range` labels of -1 at the start."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, num_classes, size)
  predictions = np.where(rng.random(size) < 0.5, labels,
                         rng.integers(0, num_classes, size))
  labels[:out_of_range] = -1
  # Two decimals: many equal confidences, to check the tie order.
  confidences = np.round(rng.random(size), 2)
  keys = [f'shard-{i // 10}:{i % 10}'.encode() for i in range(size)]
  return labels, predictions, confidences, keys


def _tally(num_classes, examples, top_n=0, batch_size=7):
  """A Tally fed in uneven batches (the last one partial)."""
  labels, predictions, confidences, keys = examples
  tally = eval_report.Tally(num_classes, top_n=top_n)
  for start in range(0, len(labels), batch_size):
    part = slice(start, start + batch_size)
    tally.add(labels[part], predictions[part], confidences[part], keys[part])
  return tally


# ------------------------------------------------------------------- tally
def test_confusion_matrix_counts_every_pair_once():
  examples = _examples(6, 100, out_of_range=4)
  labels, predictions = examples[:2]
  tally = _tally(6, examples)
  expected = np.zeros((6, 6), np.int64)
  for label, prediction in zip(labels, predictions):
    if label >= 0:
      expected[label, prediction] += 1
  np.testing.assert_array_equal(tally.confusion, expected)
  assert tally.num_examples == 100
  assert tally.num_out_of_range == 4
  assert tally.misclassified() == []  # top_n=0 keeps none.


@pytest.mark.parametrize('top_n', [1, 5, 1000])
def test_misclassified_are_the_most_confident_mistakes(top_n):
  examples = _examples(4, 120, seed=1, out_of_range=3)
  labels, predictions, confidences, keys = examples
  tally = _tally(4, examples, top_n=top_n)
  wrong = np.flatnonzero(labels != predictions)
  # Highest confidence first; equal confidences in evaluation order.
  order = wrong[np.lexsort((wrong, -confidences[wrong]))][:top_n]
  assert len(order) == min(top_n, len(wrong))
  got = tally.misclassified()
  assert [m['key'] for m in got] == [keys[i].decode() for i in order]
  assert [m['label'] for m in got] == labels[order].tolist()
  assert [m['prediction'] for m in got] == predictions[order].tolist()
  assert [m['confidence'] for m in got] == confidences[order].tolist()


def test_misclassified_without_keys_uses_the_example_index():
  tally = eval_report.Tally(3, top_n=2)
  tally.add([0, 1], [1, 1], [0.6, 0.9])
  tally.add([2, 2], [0, 1], [0.7, 0.8])
  assert [m['key'] for m in tally.misclassified()] == ['3', '2']


# ----------------------------------------------------------------- figures
def test_per_class_figures_match_numpy():
  labels, predictions, _, _ = _examples(5, 200, seed=2)
  labels[labels == 4] = 3  # Class 4 never occurs: recall undefined.
  predictions[predictions == 1] = 0  # Class 1 never predicted.
  confusion = np.zeros((5, 5), np.int64)
  np.add.at(confusion, (labels, predictions), 1)
  precision, recall, support = eval_report.per_class_figures(confusion)
  for c in range(5):
    predicted_c, actual_c = predictions == c, labels == c
    expected_precision = (np.mean(labels[predicted_c] == c)
                          if predicted_c.any() else np.nan)
    expected_recall = (np.mean(predictions[actual_c] == c)
                       if actual_c.any() else np.nan)
    np.testing.assert_allclose(precision[c], expected_precision)
    np.testing.assert_allclose(recall[c], expected_recall)
    assert support[c] == np.sum(actual_c)
  assert np.isnan(precision[1]) and np.isnan(recall[4])
  record = eval_report.per_class_record(confusion, list('abcde'))
  assert record[1]['precision'] is None and record[4]['recall'] is None
  assert record[2] == {'class': 2, 'name': 'c',
                       'precision': pytest.approx(precision[2]),
                       'recall': pytest.approx(recall[2]),
                       'support': int(np.sum(labels == 2))}


def test_top_confusions_are_the_largest_off_diagonal_counts():
  rng = np.random.default_rng(3)
  confusion = rng.integers(0, 6, (8, 8))
  pairs = [(confusion[t, p], t, p) for t in range(8) for p in range(8)
           if t != p and confusion[t, p] > 0]
  pairs.sort(key=lambda x: (-x[0], x[1], x[2]))
  expected = [(t, p, c) for c, t, p in pairs[:10]]
  assert eval_report.top_confusions(confusion, limit=10) == expected
  assert eval_report.top_confusions(np.eye(3, dtype=int) * 7) == []


def test_class_names_follow_labels_offset():
  names = {0: 'background', 1: 'cat', 2: 'dog'}
  assert eval_report.class_names(names, 2, labels_offset=1) == ['cat', 'dog']
  assert eval_report.class_names(names, 3) == ['background', 'cat', 'dog']
  assert eval_report.class_names(None, 3) == ['0', '1', '2']
  assert eval_report.class_names({0: 'a'}, 2) == ['a', '1']


# --------------------------------------------------------------------- PNG
@pytest.mark.parametrize('num_classes,size', [
    # Up to 50 classes: cells of 640 // C px clipped to [12, 48], a 130 px
    # margin for names left and below, 10 px right, a 24 px title.
    (5, (130 + 5 * 48 + 10, 24 + 5 * 48 + 130)),      # cells at the 48 cap
    (20, (130 + 20 * 32 + 10, 24 + 20 * 32 + 130)),
    (50, (130 + 50 * 12 + 10, 24 + 50 * 12 + 130)),
    # Beyond: cells of 1000 // C px (at least 1), 10 px margins, no names.
    (51, (10 + 51 * 19 + 10, 24 + 51 * 19 + 10)),
    (1001, (10 + 1001 + 10, 24 + 1001 + 10)),
])
def test_png_size_depends_only_on_the_class_count(num_classes, size):
  assert eval_report.png_size(num_classes) == size
  confusion = np.eye(num_classes, dtype=np.int64) * 3
  confusion[0, -1] = 1
  names = [f'a rather long class name {i}' for i in range(num_classes)]
  image = eval_report.draw_confusion_matrix(confusion, names)
  assert image.size == size and image.mode == 'RGB'


def test_png_cell_colours_are_row_shares(tmp_path):
  # Row 0: 3 right, 1 wrong; rows 1, 2: all right; so cells (0, 0) 3/4,
  # (0, 2) 1/4, (1, 1) 1, (1, 0) 0 of the way from white to dark blue.
  confusion = np.array([[3, 0, 1], [0, 5, 0], [0, 0, 2]])
  eval_report.fileio.write_atomic(
      str(tmp_path / 'cm.png'),
      eval_report.png_bytes(eval_report.draw_confusion_matrix(
          confusion, ['x', 'y', 'z'])))
  image = Image.open(tmp_path / 'cm.png')
  assert image.format == 'PNG' and image.size == eval_report.png_size(3)
  cell, left, top = 48, 130, 24
  white, blue = np.array([255, 255, 255]), np.array([8, 48, 107])

  def pixel(row, column):  # Near the cell's corner, away from the count.
    return np.array(image.getpixel((left + column * cell + 3,
                                    top + row * cell + 3)))

  for (row, column), share in [((0, 0), 0.75), ((0, 2), 0.25),
                               ((1, 1), 1.0), ((1, 0), 0.0)]:
    np.testing.assert_allclose(pixel(row, column),
                               white + share * (blue - white), atol=1)


# ------------------------------------------------------------ files, page
def _report(tmp_path, num_classes, top_n=3, names=None):
  examples = _examples(num_classes, 300, seed=4, out_of_range=2)
  tally = _tally(num_classes, examples, top_n=top_n)
  names = names or [f'class {i}' for i in range(num_classes)]
  metrics = {'Accuracy': 0.5, 'Recall_5': 0.9, 'global_step': 7,
             'checkpoint': '/ckpt/model.ckpt-7'}
  written = eval_report.write_report(str(tmp_path), metrics, tally, names)
  return tally, names, written


def test_write_report_writes_consistent_files(tmp_path):
  names = ['<b>round</b>', 'square & co', 'tri']
  tally, _, written = _report(tmp_path, 3, names=names)
  assert sorted(os.path.basename(p) for p in written) == [
      'confusion_matrix.json', 'confusion_matrix.png', 'index.html',
      'misclassified.json', 'per_class.json']
  assert not [p for p in os.listdir(tmp_path) if p.startswith('.tmp')]
  confusion = json.loads((tmp_path / 'confusion_matrix.json').read_text())
  assert confusion['matrix'] == tally.confusion.tolist()
  assert confusion['class_names'] == names
  assert confusion['num_examples'] == 300
  assert confusion['num_out_of_range_labels'] == 2
  per_class = json.loads((tmp_path / 'per_class.json').read_text())
  assert [c['support'] for c in per_class] == tally.confusion.sum(1).tolist()
  mistakes = json.loads((tmp_path / 'misclassified.json').read_text())
  assert [m['rank'] for m in mistakes] == [1, 2, 3]
  assert mistakes[0]['label_name'] in names + ['-1']
  assert Image.open(tmp_path / 'confusion_matrix.png').size == (
      eval_report.png_size(3))

  page = (tmp_path / 'index.html').read_text()
  assert '<img src="confusion_matrix.png"' in page
  assert 'http://' not in page and 'https://' not in page  # Offline.
  assert '<script' not in page and '<link' not in page
  assert '&lt;b&gt;round&lt;/b&gt;' in page and '<b>round' not in page
  for mistake in mistakes:
    assert mistake['key'] in page
  assert '2 examples had a label outside' in page


def test_many_classes_get_a_top_confusions_list(tmp_path):
  tally, names, written = _report(tmp_path, 60, top_n=0)
  assert 'misclassified.json' not in [os.path.basename(p) for p in written]
  confusion = json.loads((tmp_path / 'confusion_matrix.json').read_text())
  top = eval_report.top_confusions(tally.confusion)
  assert len(top) == eval_report.NUM_TOP_CONFUSIONS
  assert [(c['true'], c['predicted'], c['count'])
          for c in confusion['top_confusions']] == top
  page = (tmp_path / 'index.html').read_text()
  assert 'More than 50 classes' in page
  true, predicted, count = top[0]
  assert (f'<td class="text">{true} {names[true]}</td><td class="text">'
          f'{predicted} {names[predicted]}</td><td>{count}</td>') in page
  assert 'Most confident mistakes' not in page
