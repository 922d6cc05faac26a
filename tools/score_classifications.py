"""Scores classify_images.py's predictions against the images' labels.

    python tools/dump_images.py --dataset_name=shapes_multi \
      --dataset_dir=/tmp/shapes_multi --num_images=0 --output_dir=/tmp/val
    python classify_images.py --model=/tmp/model/model_int8.tflite \
      --images=/tmp/val --top_k=5 --output=/tmp/preds.csv
    python tools/score_classifications.py --predictions=/tmp/preds.csv \
      --labels_csv=/tmp/val/labels.csv
    # 500 images, 5 classes: mAP: 0.9594  F1_micro: ...  F1_macro: ...

What an exported model (a SavedModel, a frozen graph, a float or int8
TFLite file) scores on files, measured the way eval_image_classifier.py
measures the checkpoint on records, so the two can be compared: the mAP and
the F1 at --threshold of multi_label_metrics.MultiLabelTally, and, when
every image has exactly one label, the top-1 accuracy too.

--predictions is a CSV of classify_images.py, ranked (`image,rank,label,
score`) or thresholded (`image,label,score`). A class an image has no row
for scores 0 for it, so give classify_images.py a --top_k of at least the
number of classes (or a --threshold low enough) for the exact mAP; fewer
rows can only lower the mAP. --labels_csv is the CSV converter's layout
(`filename,labels`, the labels separated by spaces; tools/dump_images.py
writes it beside the images); like the converter's, it is read from a local
disk, while --predictions may be anywhere tf.io.gfile reaches. Images are matched by path (a relative path
in the predictions is taken from the current folder), else by file name.
The classes are those either file names, in sorted order.
"""
import csv
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags
import numpy as np

from datasets import label_csv
from datasets.errors import DatasetError
from image_classifier import cli
from image_classifier import fileio
from image_classifier import multi_label_metrics

flags.DEFINE_string('predictions', None, 'The CSV classify_images.py wrote.')
flags.DEFINE_string('labels_csv', None, 'The images\' labels: '
                    '`filename,labels` rows (tools/dump_images.py writes '
                    'labels.csv beside the images).')
flags.DEFINE_float('threshold', multi_label_metrics.DEFAULT_THRESHOLD,
                   'A class is predicted when its score is above this '
                   '(for the F1 figures).')

FLAGS = flags.FLAGS
_PREDICTION_COLUMNS = ({'image', 'rank', 'label', 'score'},
                       {'image', 'label', 'score'})


def read_predictions(path):
  """{image path as written: {label: score}} from a classify_images CSV.

  Raises:
    cli.UserError: the file is missing, or not such a CSV.
  """
  try:
    rows = list(csv.DictReader(io.StringIO(fileio.read_text(path),
                                           newline='')))
    columns = set(rows[0]) if rows else set()
  except (OSError, UnicodeDecodeError, csv.Error) as e:
    cli.fail(f'--predictions={path} cannot be read: {e}')
  if columns not in _PREDICTION_COLUMNS:
    cli.fail(f'--predictions={path} is not a CSV of classify_images.py '
             f'(columns image,rank,label,score or image,label,score); '
             f'found {",".join(sorted(columns)) or "no rows"}')
  scores = {}
  for row in rows:
    try:
      scores.setdefault(row['image'], {})[row['label']] = float(row['score'])
    except (TypeError, ValueError):
      cli.fail(f'--predictions={path}: {row["image"]} has the score '
               f'{row["score"]!r}, not a number')
  return scores


def _comparable(path):
  """A prediction's image path as label_csv gives the CSV's (local paths
  absolute, from the current folder)."""
  return os.path.abspath(path) if fileio.is_local(path) else path


def _match(predicted_paths, images):
  """{predicted path: index into images}, by absolute path, else by name."""
  by_path = {image.path: i for i, image in enumerate(images)}
  by_name = {}
  for i, image in enumerate(images):
    by_name.setdefault(os.path.basename(image.path), []).append(i)
  matched = {}
  for predicted in predicted_paths:
    index = by_path.get(_comparable(predicted))
    if index is None and len(by_name.get(os.path.basename(predicted), ())) == 1:
      index = by_name[os.path.basename(predicted)][0]
    if index is None:
      cli.fail(f'--predictions has {predicted}, which --labels_csv does not '
               f'list (or lists under several folders)')
    matched[predicted] = index
  return matched


def score(predictions, images, threshold=multi_label_metrics.DEFAULT_THRESHOLD):
  """The figures of `predictions` against the labels of `images`.

  Args:
    predictions: {image path: {label: score}} (read_predictions).
    images: the label_csv.LabelledImage rows of the images.
    threshold: the decision threshold of the F1 figures.

  Returns:
    (classes, figures): the sorted class names, and the
    MultiLabelTally result (mAP, F1, per class) with `images` and, when every
    image has one label, `accuracy` (top-1) added.
  """
  classes = sorted({n for image in images for n in image.class_names} |
                   {label for scores in predictions.values()
                    for label in scores})
  column = {name: i for i, name in enumerate(classes)}
  targets = np.zeros([len(images), len(classes)], np.float32)
  for i, image in enumerate(images):
    targets[i, [column[n] for n in image.class_names]] = 1
  scores = np.zeros_like(targets)
  for path, index in _match(predictions, images).items():
    for label, value in predictions[path].items():
      scores[index, column[label]] = value
  tally = multi_label_metrics.MultiLabelTally(len(classes), threshold)
  with cli.user_input('--predictions'):
    tally.add(scores, targets)
  figures = dict(tally.result(), images=len(images))
  if all(len(image.class_names) == 1 for image in images):
    best = scores.argmax(axis=1)
    figures['accuracy'] = float(np.mean(targets[np.arange(len(images)), best]))
  return classes, figures


def summary_line(classes, figures):
  """`500 images, 5 classes: mAP: 0.9594  F1_micro: ...`."""
  names = ('accuracy',) + multi_label_metrics.FIGURE_NAMES[:3]
  shown = '  '.join(f'{name}: {figures[name]:.4f}' for name in names
                    if figures.get(name) is not None)
  return f'{figures["images"]} images, {len(classes)} classes: {shown}'


def main(argv):
  cli.check_no_arguments(argv)
  if not FLAGS.predictions or not FLAGS.labels_csv:
    cli.fail('--predictions and --labels_csv must be set.')
  predictions = read_predictions(FLAGS.predictions)
  with cli.user_input():
    images = label_csv.read_csv(FLAGS.labels_csv, flag='--labels_csv')
  classes, figures = score(predictions, images, FLAGS.threshold)
  print(summary_line(classes, figures))


if __name__ == '__main__':
  cli.run(main, extra_user_errors=(DatasetError,))
