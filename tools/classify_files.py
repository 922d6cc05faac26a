"""Classifies image files with a loaded classifier, a batch at a time.

The TensorFlow half of classify_images.py: each file is decoded and goes
through the model's eval preprocessing (`ImageReader`; for a .tflite
without its record, a resize and scaling its tensors say), and batches go
through the model (`classify`). Files that cannot be read are skipped and
returned with the reason.
"""
import numpy as np
import tensorflow as tf
import tqdm

from datasets import image_coding
from tools import model_info

tf1 = tf.compat.v1


def _op_error_line(message):
  """The line of a session error that says what went wrong: the last one
  before the `[[{{node ...}}]]` trailer."""
  lines = [line.strip() for line in message.splitlines() if line.strip()]
  lines = [line for line in lines if not line.startswith('[[')]
  return lines[-1] if lines else 'unreadable'


class ImageReader:
  """Decodes and preprocesses one image file at a time for a model."""

  def __init__(self, info,
               max_pixels=image_coding.DEFAULT_MAX_IMAGE_PIXELS):
    self._max_pixels = max_pixels
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._encoded = tf1.placeholder(tf.string, [])
      self._image = model_info.image_fn(info)(self._encoded)
    self._session = tf1.Session(graph=self._graph)

  def read(self, path):
    """(image, None), or (None, why) if the file cannot be read."""
    try:
      encoded = image_coding.read_regular_file(path)
      image_coding.check_image_header(encoded, self._max_pixels)
    except image_coding.UnusableImage as e:
      return None, str(e)
    try:
      return self._session.run(self._image, {self._encoded: encoded}), None
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError,
            tf.errors.OutOfRangeError) as e:
      return None, _op_error_line(e.message)

  def close(self):
    self._session.close()


def chosen_classes(scores, top_k=None, threshold=None):
  """The class ids to report for one image, best first.

  Args:
    scores: [num_classes] probabilities.
    top_k: at most this many (None: no limit).
    threshold: only the classes whose score is >= threshold (None: all);
      for a multi-label model, whose scores are each class's own
      probability.

  Returns:
    A list of int class ids, by decreasing score (ties: the lower id).
  """
  best = np.argsort(-scores, kind='stable')
  if threshold is not None:
    best = best[scores[best] >= threshold]
  return [int(i) for i in best[:top_k]]


def classify(classifier, paths, top_k=5, batch_size=32, progress_bar=False,
             max_image_pixels=image_coding.DEFAULT_MAX_IMAGE_PIXELS,
             threshold=None):
  """Classifies the files; skips those that cannot be read.

  Args:
    classifier: a tools.classifiers.Classifier.
    paths: the image files.
    top_k: how many best classes per image (None: no limit, with a
      threshold).
    batch_size: images per forward pass.
    progress_bar: show a progress bar when stderr is a terminal.
    max_image_pixels: images whose header gives more pixels are skipped.
    threshold: report only the classes scoring >= threshold (see
      `chosen_classes`); None: the top_k best.

  Returns:
    (predictions, unreadable): [(path, [(class_id, label, score), ...])]
    best first, in the order of `paths`; [(path, why)].
  """
  labels = classifier.info.labels
  reader = ImageReader(classifier.info, max_image_pixels)
  predictions, unreadable, batch_paths, batch = [], [], [], []

  def flush():
    if not batch:
      return
    probabilities = classifier.predict(np.stack(batch))
    for path, scores in zip(batch_paths, probabilities):
      predictions.append((path, [
          (i, labels[i], float(scores[i]))
          for i in chosen_classes(scores, top_k, threshold)]))
    batch_paths.clear()
    batch.clear()

  try:
    for path in tqdm.tqdm(paths, unit='image',
                          disable=None if progress_bar else True):
      image, why = reader.read(path)
      if image is None:
        unreadable.append((path, why))
        continue
      batch_paths.append(path)
      batch.append(image)
      if len(batch) == batch_size:
        flush()
    flush()
  finally:
    reader.close()
  return predictions, unreadable
