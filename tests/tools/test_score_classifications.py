"""tools/score_classifications.py on hand-made CSVs: matching, the scores a
missing row stands for, and the figures worked out by hand."""
import pytest

from datasets import label_csv
from image_classifier import cli
from tools import score_classifications as scorer


def _labels(tmp_path, rows):
  path = tmp_path / 'truth' / 'labels.csv'
  path.parent.mkdir(exist_ok=True)
  path.write_text('filename,labels\n' + ''.join(f'{f},{l}\n' for f, l in rows))
  return label_csv.read_csv(str(path))


def _predictions(tmp_path, text):
  path = tmp_path / 'preds.csv'
  path.write_text(text)
  return scorer.read_predictions(str(path))


def test_single_label_accuracy_and_map_by_hand(tmp_path):
  images = _labels(tmp_path, [('a.png', 'cat'), ('b.png', 'dog'),
                              ('c.png', 'dog')])
  # Ranked CSV, matched by file name (the predictions name another folder).
  predictions = _predictions(tmp_path, (
      'image,rank,label,score\n'
      'x/a.png,1,cat,0.9\nx/a.png,2,dog,0.1\n'
      'x/b.png,1,cat,0.6\nx/b.png,2,dog,0.4\n'
      'x/c.png,1,dog,0.7\nx/c.png,2,cat,0.3\n'))
  classes, figures = scorer.score(predictions, images)
  assert classes == ['cat', 'dog']
  assert figures['images'] == 3
  assert figures['accuracy'] == pytest.approx(2 / 3)  # b.png is wrong.
  # cat: scores a 0.9 (cat), b 0.6, c 0.3 -> AP 1. dog: c 0.7 (dog), b 0.4
  # (dog), a 0.1 -> AP 1. Ranking is perfect per class although b's top-1
  # is wrong.
  assert figures['mAP'] == pytest.approx(1.0)


def test_missing_rows_score_zero_and_thresholded_csv(tmp_path):
  images = _labels(tmp_path, [('a.png', 'cat dog'), ('b.png', ''),
                              ('c.png', 'dog')])
  # A thresholded CSV: b.png has no label over the threshold, so no row;
  # a.png lacks its dog row, which then scores 0.
  predictions = _predictions(tmp_path, (
      'image,label,score\n'
      f'{tmp_path}/truth/a.png,cat,0.8\n'
      f'{tmp_path}/truth/c.png,dog,0.9\n'))
  _, figures = scorer.score(predictions, images, threshold=0.5)
  assert 'accuracy' not in figures  # a.png has two labels, b.png none.
  # cat: a 0.8 (cat), b 0, c 0 -> AP 1. dog: c 0.9 (dog), then a and b tied
  # at 0 with a a dog: precision at recall 1/2 is 1, at recall 1 it is 2/3
  # -> AP 1/2 * 1 + 1/2 * 2/3 = 5/6.
  assert figures['mAP'] == pytest.approx((1 + 5 / 6) / 2)
  # Decisions at 0.5: cat {a}, dog {c}; truth cat {a}, dog {a, c}:
  # tp 2, fp 0, fn 1 -> F1_micro 2*2 / (2*2 + 0 + 1) = 0.8.
  assert figures['F1_micro'] == pytest.approx(0.8)
  assert 'mAP: ' in scorer.summary_line(['cat', 'dog'], figures)


@pytest.mark.parametrize('text,message', [
    ('filename,labels\na.png,cat\n', 'not a CSV of classify_images'),
    ('image,rank,label,score\na.png,1,cat,high\n', 'not a number'),
    ('image,rank,label,score\nz.png,1,cat,0.5\n', 'does not list'),
    ('image,rank,label,score\na.png,1,cat,nan\n', 'finite'),
])
def test_bad_predictions_are_user_errors(tmp_path, text, message):
  images = _labels(tmp_path, [('a.png', 'cat')])
  with pytest.raises(cli.UserError, match=message):
    scorer.score(_predictions(tmp_path, text), images)
