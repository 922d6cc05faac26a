"""The evaluation report: per-class figures, confusion matrix, mistakes.

eval_image_classifier.py feeds every evaluated batch (labels, predictions,
the predicted class's probability, record keys) into a `Tally`, then
`write_report` writes into --eval_dir:

    per_class.json          precision, recall and support of every class
    confusion_matrix.json   the counts (rows: true class, columns:
                            predicted) and the most frequent confusions
    confusion_matrix.png    the matrix as a heat map, drawn with Pillow
    misclassified.json      the N most confident mistakes (only with
                            --report_misclassified=N)
    index.html              all of it on one self-contained page

On a multi-label dataset the tally is a multi_label_metrics.MultiLabelTally
and the report is per_class.json (AP, precision, recall, F1 and support of
every class) and index.html: no confusion matrix, as an image's labels are
not one true class against one predicted class.

Everything here is numpy, Pillow and the standard library, so it is tested
without TensorFlow. Every file is written atomically.
"""
import heapq
import html
import io
import json
import os

import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from image_classifier import fileio
from image_classifier import multi_label_metrics

PER_CLASS_FILENAME = 'per_class.json'
CONFUSION_JSON_FILENAME = 'confusion_matrix.json'
CONFUSION_PNG_FILENAME = 'confusion_matrix.png'
MISCLASSIFIED_FILENAME = 'misclassified.json'
INDEX_FILENAME = 'index.html'

# Up to this many classes the heat map carries class names on its axes;
# beyond it names would not be readable, and the top-confusions list in
# confusion_matrix.json and index.html is what to read.
MAX_LABELLED_CLASSES = 50
NUM_TOP_CONFUSIONS = 20


# ------------------------------------------------------------- accumulation
class Tally:
  """Accumulates the confusion matrix and the most confident mistakes.

  Fed one batch at a time, so memory stays bounded: the matrix is
  num_classes x num_classes and at most `top_n` mistakes are kept (a
  min-heap on confidence).

  Examples whose label is outside [0, num_classes) (a --labels_offset that
  does not fit the data) are wrong for Accuracy but have no row in the
  matrix: they are counted in `num_out_of_range` and still compete for the
  most confident mistakes.
  """

  def __init__(self, num_classes, top_n=0):
    """Starts an empty tally.

    Args:
      num_classes: the number of classes the network predicts.
      top_n: how many of the most confident mistakes to keep (0: none).
    """
    self.num_classes = num_classes
    self.top_n = top_n
    self.confusion = np.zeros((num_classes, num_classes), np.int64)
    self.num_examples = 0
    self.num_out_of_range = 0
    self._mistakes = []  # Min-heap of (confidence, -index, record).

  def add(self, labels, predictions, confidences=None, keys=None):
    """Counts one batch.

    Args:
      labels: int array [batch], the true classes (after --labels_offset).
      predictions: int array [batch], the predicted classes.
      confidences: float array [batch], the predicted class's probability;
        needed when top_n > 0.
      keys: the records' keys [batch] (bytes or str); None uses the
        example's index in the evaluation order.
    """
    labels = np.asarray(labels, np.int64).reshape(-1)
    predictions = np.asarray(predictions, np.int64).reshape(-1)
    in_range = (labels >= 0) & (labels < self.num_classes)
    np.add.at(self.confusion, (labels[in_range], predictions[in_range]), 1)
    self.num_out_of_range += int(np.sum(~in_range))
    first_index = self.num_examples
    self.num_examples += len(labels)
    if self.top_n <= 0:
      return
    confidences = np.asarray(confidences, np.float64).reshape(-1)
    for i in np.flatnonzero(labels != predictions):
      # Ties keep the earlier example: it has the larger -index.
      entry = (float(confidences[i]), -(first_index + int(i)))
      if (len(self._mistakes) == self.top_n
          and entry <= self._mistakes[0][:2]):
        continue
      record = {'key': _key_text(keys[i]) if keys is not None
                       else str(first_index + int(i)),
                'label': int(labels[i]), 'prediction': int(predictions[i]),
                'confidence': entry[0]}
      if len(self._mistakes) < self.top_n:
        heapq.heappush(self._mistakes, entry + (record,))
      else:
        heapq.heapreplace(self._mistakes, entry + (record,))

  def misclassified(self):
    """The kept mistakes, most confident first (ties: evaluation order).

    Returns:
      A list of dicts with key, label, prediction and confidence.
    """
    return [dict(entry[2]) for entry in sorted(self._mistakes, reverse=True)]


def _key_text(key):
  return key.decode('utf-8', 'replace') if isinstance(key, bytes) else str(key)


# --------------------------------------------------------------- the figures
def class_names(labels_to_names, num_classes, labels_offset=0):
  """The name of each class the network predicts.

  Network class i is dataset label i + labels_offset, so that is the entry
  of labels.txt it takes its name from.

  Args:
    labels_to_names: the dataset's {label: name}, or None without
      labels.txt.
    num_classes: the network's class count.
    labels_offset: the --labels_offset of the evaluation.

  Returns:
    A list of num_classes strings; the class id where there is no name.
  """
  names = labels_to_names or {}
  return [str(names.get(i + labels_offset, i)) for i in range(num_classes)]


def per_class_figures(confusion):
  """Precision, recall and support of every class from a confusion matrix.

  Args:
    confusion: int array [C, C], rows true classes, columns predictions.

  Returns:
    (precision, recall, support): float arrays [C] with NaN where a class
    was never predicted (precision) or never present (recall), and an int
    array [C] of the examples of each class.
  """
  confusion = np.asarray(confusion, np.int64)
  hits = np.diag(confusion).astype(np.float64)
  predicted = confusion.sum(axis=0)
  support = confusion.sum(axis=1)
  with np.errstate(divide='ignore', invalid='ignore'):
    precision = np.where(predicted > 0, hits / predicted, np.nan)
    recall = np.where(support > 0, hits / support, np.nan)
  return precision, recall, support


def top_confusions(confusion, limit=NUM_TOP_CONFUSIONS):
  """The most frequent (true class, predicted class) mistakes.

  Args:
    confusion: int array [C, C], rows true classes, columns predictions.
    limit: the most pairs returned.

  Returns:
    A list of (true class, predicted class, count) with count > 0, the
    largest counts first (ties: by true class, then predicted class).
  """
  confusion = np.asarray(confusion, np.int64)
  off_diagonal = confusion * (1 - np.eye(len(confusion), dtype=np.int64))
  pairs = np.argwhere(off_diagonal > 0)
  counts = off_diagonal[pairs[:, 0], pairs[:, 1]] if len(pairs) else []
  order = sorted(range(len(pairs)),
                 key=lambda i: (-counts[i], pairs[i][0], pairs[i][1]))
  return [(int(pairs[i][0]), int(pairs[i][1]), int(counts[i]))
          for i in order[:limit]]


def _number_or_none(value):
  """JSON has no NaN: an undefined figure is null."""
  return None if np.isnan(value) else float(value)


def per_class_record(confusion, names):
  """The content of per_class.json: one entry per class."""
  precision, recall, support = per_class_figures(confusion)
  return [{'class': i, 'name': names[i],
           'precision': _number_or_none(precision[i]),
           'recall': _number_or_none(recall[i]),
           'support': int(support[i])}
          for i in range(len(names))]


def confusion_record(tally, names):
  """The content of confusion_matrix.json."""
  return {
      'class_names': list(names),
      'matrix': tally.confusion.tolist(),
      'rows': 'true class',
      'columns': 'predicted class',
      'num_examples': tally.num_examples,
      'num_out_of_range_labels': tally.num_out_of_range,
      'top_confusions': [
          {'true': t, 'true_name': names[t], 'predicted': p,
           'predicted_name': names[p], 'count': c}
          for t, p, c in top_confusions(tally.confusion)],
  }


def misclassified_record(tally, names):
  """The content of misclassified.json, with class names added."""
  def name(label):
    return names[label] if 0 <= label < len(names) else str(label)
  return [dict(m, rank=rank, label_name=name(m['label']),
               prediction_name=name(m['prediction']))
          for rank, m in enumerate(tally.misclassified(), 1)]


# ------------------------------------------------------------------ the PNG
_TITLE_HEIGHT = 24
_LABEL_MARGIN = 130  # Room for class names left of and below the matrix.
_SMALL_MARGIN = 10
_LOW = np.array([255, 255, 255], np.float64)   # Row share 0: white.
_HIGH = np.array([8, 48, 107], np.float64)     # Row share 1: dark blue.


def _cell_size(num_classes):
  """Pixels per matrix cell: about 640 px of matrix with names, 1000 px
  without, and never below what stays visible."""
  if num_classes <= MAX_LABELLED_CLASSES:
    return int(np.clip(640 // max(num_classes, 1), 12, 48))
  return max(1, 1000 // num_classes)


def png_size(num_classes):
  """The (width, height) of confusion_matrix.png; depends only on the
  class count, so readers and tests know it in advance."""
  side = _cell_size(num_classes) * num_classes
  if num_classes <= MAX_LABELLED_CLASSES:
    return (_LABEL_MARGIN + side + _SMALL_MARGIN,
            _TITLE_HEIGHT + side + _LABEL_MARGIN)
  return (2 * _SMALL_MARGIN + side, _TITLE_HEIGHT + side + _SMALL_MARGIN)


def _font(size):
  """Pillow's built-in font at `size` (older Pillow: its one bitmap size)."""
  try:
    return ImageFont.load_default(size=size)
  except TypeError:  # Pillow < 10.1 has no size argument.
    return ImageFont.load_default()


def _fit(draw, text, font, width):
  """`text`, shortened with an ellipsis until it is at most `width` px."""
  if draw.textlength(text, font=font) <= width:
    return text
  while text and draw.textlength(text + '\u2026', font=font) > width:
    text = text[:-1]
  return text + '\u2026'


def _row_shares(confusion):
  """Each row divided by its sum, so that small classes show as clearly
  as large ones (rows without examples stay 0)."""
  confusion = np.asarray(confusion, np.float64)
  totals = confusion.sum(axis=1, keepdims=True)
  return np.divide(confusion, totals, out=np.zeros_like(confusion),
                   where=totals > 0)


def draw_confusion_matrix(confusion, names):
  """Draws the confusion matrix as a heat map.

  Rows are true classes, columns predictions; a cell's colour is its share
  of the row (white 0 to dark blue 1). Up to MAX_LABELLED_CLASSES classes
  the names are on both axes (shortened to fit) and large cells carry
  their count; beyond that the image is the bare heat map.

  Args:
    confusion: int array [C, C].
    names: the C class names.

  Returns:
    An RGB PIL image of size `png_size(C)`.
  """
  num_classes = len(names)
  width, height = png_size(num_classes)
  cell = _cell_size(num_classes)
  labelled = num_classes <= MAX_LABELLED_CLASSES
  left = _LABEL_MARGIN if labelled else _SMALL_MARGIN
  top = _TITLE_HEIGHT
  image = Image.new('RGB', (width, height), 'white')
  draw = ImageDraw.Draw(image)
  title_font = _font(12)
  draw.text((_SMALL_MARGIN, 6),
            _fit(draw, 'rows: true class, columns: predicted class',
                 title_font, width - 2 * _SMALL_MARGIN),
            fill='black', font=title_font)

  shares = _row_shares(confusion)
  colours = (_LOW + shares[..., None] * (_HIGH - _LOW)).round().astype(
      np.uint8)
  # One pixel per cell, scaled up: exact cell edges at any class count.
  heat = Image.fromarray(colours, 'RGB').resize(
      (num_classes * cell, num_classes * cell), Image.NEAREST)
  image.paste(heat, (left, top))
  draw.rectangle([left - 1, top - 1, left + num_classes * cell,
                  top + num_classes * cell], outline='gray')
  if not labelled:
    return image

  font = _font(max(8, min(12, cell - 2)))
  count_font = _font(max(8, min(12, cell // 3)))
  text_room = _LABEL_MARGIN - 8
  for i, name in enumerate(names):
    label = _fit(draw, name, font, text_room)
    middle = top + i * cell + cell // 2
    draw.text((left - 4, middle), label, fill='black', font=font,
              anchor='rm')
    # Column label: drawn horizontally, then turned to read upwards.
    strip = Image.new('RGB', (text_room, cell), 'white')
    ImageDraw.Draw(strip).text((text_room - 1, cell // 2), label,
                               fill='black', font=font, anchor='rm')
    image.paste(strip.rotate(90, expand=True),
                (left + i * cell, top + num_classes * cell + 4))
  if cell >= 28:
    for (row, column), count in np.ndenumerate(np.asarray(confusion)):
      if count:
        draw.text((left + column * cell + cell // 2,
                   top + row * cell + cell // 2), str(count),
                  fill='white' if shares[row, column] > 0.5 else 'black',
                  font=count_font, anchor='mm')
  return image


def png_bytes(image):
  """The PNG encoding of a PIL image."""
  buffer = io.BytesIO()
  image.save(buffer, format='PNG')
  return buffer.getvalue()


# ----------------------------------------------------------------- the page
_CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f0f0f0; }
td.text { text-align: left; font-family: monospace; }
img { border: 1px solid #ccc; image-rendering: pixelated; }
.note { color: #666; }
"""


def _figure(value, digits=4):
  if value is None or (isinstance(value, float) and np.isnan(value)):
    return '\u2014'
  return f'{value:.{digits}f}'


def _table(header, rows, text_columns=()):
  """An HTML table; cells escaped, `text_columns` left-aligned, no
  header row when `header` is None."""
  out = ['<table>']
  if header is not None:
    out += ['<tr>'] + [f'<th>{html.escape(str(h))}</th>' for h in header]
    out.append('</tr>')
  for row in rows:
    out.append('<tr>')
    for column, cell in enumerate(row):
      css = ' class="text"' if column in text_columns else ''
      out.append(f'<td{css}>{html.escape(str(cell))}</td>')
    out.append('</tr>')
  out.append('</table>')
  return ''.join(out)


def render_html(metrics, per_class, confusion, misclassified):
  """index.html: the evaluation on one page, readable offline.

  Self-contained (inline CSS, no script, nothing fetched) except for the
  heat map, referenced by its relative file name so that the folder can
  be copied or zipped as a whole.

  Args:
    metrics: the metrics.json content (Accuracy, Recall_5, global_step,
      checkpoint).
    per_class: the per_class.json content.
    confusion: the confusion_matrix.json content.
    misclassified: the misclassified.json content, or None when not asked.

  Returns:
    The page as a string.
  """
  parts = [
      '<!DOCTYPE html><html><head><meta charset="utf-8">',
      '<title>Evaluation report</title>', f'<style>{_CSS}</style>',
      '</head><body><h1>Evaluation report</h1>',
      _table(None, [
          ('checkpoint', metrics.get('checkpoint', '')),
          ('global step', metrics.get('global_step', '')),
          ('Accuracy', _figure(metrics.get('Accuracy'))),
          ('Recall_5', _figure(metrics.get('Recall_5'))),
          ('examples', confusion['num_examples']),
      ], text_columns=(0, 1)),
  ]
  if confusion['num_out_of_range_labels']:
    parts.append(
        f'<p class="note">{confusion["num_out_of_range_labels"]} examples '
        'had a label outside the network\'s classes (check '
        '--labels_offset); they are not in the matrix or the per-class '
        'figures.</p>')
  parts.append('<h2>Confusion matrix</h2>')
  parts.append(f'<img src="{CONFUSION_PNG_FILENAME}" '
               'alt="confusion matrix">')
  parts.append('<p class="note">Rows: true class; columns: predicted '
               'class; colour: the cell\'s share of its row (white 0, dark '
               'blue 1).</p>')
  if len(per_class) > MAX_LABELLED_CLASSES:
    parts.append(f'<p class="note">More than {MAX_LABELLED_CLASSES} '
                 'classes: the heat map has no names; see the top '
                 f'confusions below and {CONFUSION_JSON_FILENAME}.</p>')
  parts.append('<h2>Per class</h2>')
  parts.append(_table(
      ['class', 'name', 'precision', 'recall', 'support'],
      [(c['class'], c['name'], _figure(c['precision']),
        _figure(c['recall']), c['support']) for c in per_class],
      text_columns=(1,)))
  parts.append('<h2>Top confusions</h2>')
  if confusion['top_confusions']:
    parts.append(_table(
        ['true class', 'predicted class', 'count'],
        [(f'{c["true"]} {c["true_name"]}',
          f'{c["predicted"]} {c["predicted_name"]}', c['count'])
         for c in confusion['top_confusions']], text_columns=(0, 1)))
  else:
    parts.append('<p>No mistakes.</p>')
  if misclassified is not None:
    parts.append('<h2>Most confident mistakes</h2>')
    parts.append(_table(
        ['rank', 'record key', 'true class', 'predicted class',
         'confidence'],
        [(m['rank'], m['key'], f'{m["label"]} {m["label_name"]}',
          f'{m["prediction"]} {m["prediction_name"]}',
          _figure(m['confidence'])) for m in misclassified],
        text_columns=(1, 2, 3)))
  parts.append('</body></html>\n')
  return '\n'.join(parts)


# -------------------------------------------------------------- multi-label
def multi_label_per_class_record(tally, names, threshold):
  """per_class.json of a multi-label evaluation: one entry per class."""
  return [dict(c, name=names[c['class']])
          for c in tally.result(threshold)['per_class']]


def render_multi_label_html(metrics, per_class, num_examples):
  """index.html of a multi-label evaluation: the figures and the per-class
  table (no confusion matrix)."""
  summary = [('checkpoint', metrics.get('checkpoint', '')),
             ('global step', metrics.get('global_step', ''))]
  summary += [(name, _figure(metrics.get(name)))
              for name in multi_label_metrics.FIGURE_NAMES]
  summary += [('threshold', metrics.get('threshold', '')),
              ('examples', num_examples)]
  return '\n'.join([
      '<!DOCTYPE html><html><head><meta charset="utf-8">',
      '<title>Evaluation report</title>', f'<style>{_CSS}</style>',
      '</head><body><h1>Evaluation report</h1>',
      _table(None, summary, text_columns=(0, 1)),
      '<p class="note">Multi-label data (several labels per image): no '
      'confusion matrix, as an image\'s labels are not one true class '
      'against one predicted class. A class is predicted where its '
      'probability is above the threshold; AP does not depend on it.</p>',
      '<h2>Per class</h2>',
      _table(['class', 'name', 'AP', 'precision', 'recall', 'F1',
              'support'],
             [(c['class'], c['name'], _figure(c['AP']),
               _figure(c['precision']), _figure(c['recall']),
               _figure(c['F1']), c['support']) for c in per_class],
             text_columns=(1,)),
      '</body></html>\n'])


def _write_multi_label_report(eval_dir, metrics, tally, names):
  """per_class.json and index.html of a multi-label evaluation."""
  per_class = multi_label_per_class_record(tally, names,
                                           metrics.get('threshold'))
  paths = [os.path.join(eval_dir, PER_CLASS_FILENAME),
           os.path.join(eval_dir, INDEX_FILENAME)]
  _write_json(paths[0], per_class)
  fileio.write_atomic(paths[1], render_multi_label_html(
      metrics, per_class, tally.num_examples))
  return paths


# ----------------------------------------------------------------- writing
def _write_json(path, value):
  fileio.write_atomic(path, json.dumps(value, indent=2) + '\n')


def _confusion_json(record):
  """confusion_matrix.json's text: indented, but one matrix row per line
  (one number per line would make 1000 classes a 9 MB file)."""
  rest = {k: v for k, v in record.items() if k != 'matrix'}
  rows = ',\n    '.join(json.dumps(row, separators=(',', ':'))
                        for row in record['matrix'])
  head = json.dumps(rest, indent=2)[:-2]  # Without the closing '\n}'.
  return f'{head},\n  "matrix": [\n    {rows}\n  ]\n}}\n'


def write_report(eval_dir, metrics, tally, names):
  """Writes the report files into `eval_dir`, index.html last.

  Args:
    eval_dir: the --eval_dir folder.
    metrics: the metrics.json content of the same evaluation.
    tally: the filled `Tally`, or a multi_label_metrics.MultiLabelTally
      (the multi-label report).
    names: the class names (see `class_names`).

  Returns:
    The paths written.
  """
  if isinstance(tally, multi_label_metrics.MultiLabelTally):
    return _write_multi_label_report(eval_dir, metrics, tally, names)
  per_class = per_class_record(tally.confusion, names)
  confusion = confusion_record(tally, names)
  misclassified = (misclassified_record(tally, names) if tally.top_n > 0
                   else None)
  written = []

  def write(filename, content):
    path = os.path.join(eval_dir, filename)
    if filename == CONFUSION_JSON_FILENAME:
      fileio.write_atomic(path, _confusion_json(content))
    elif filename.endswith('.json'):
      _write_json(path, content)
    else:
      fileio.write_atomic(path, content)
    written.append(path)

  write(PER_CLASS_FILENAME, per_class)
  write(CONFUSION_JSON_FILENAME, confusion)
  write(CONFUSION_PNG_FILENAME,
        png_bytes(draw_confusion_matrix(tally.confusion, names)))
  if misclassified is not None:
    write(MISCLASSIFIED_FILENAME, misclassified)
  write(INDEX_FILENAME,
        render_html(metrics, per_class, confusion, misclassified))
  return written
