"""Writes the first images of a dataset split as files, named by label.

    python tools/dump_images.py --dataset_name=shapes --dataset_dir=/tmp/shapes \
      --dataset_split_name=validation --num_images=3 --output_dir=/tmp/samples

Handy for looking at converted data and for feeding label_image
(`/tmp/samples/00000_circle.png`). Images are written as PNG; an image of a
multi-label dataset is named by all its labels (`00004_circle+cross.png`,
`00007_none.png` for an image of no class). --num_images=0 writes the whole
split.

The stored labels also go to `labels.csv` beside the images, in the layout
the CSV converter reads (`filename,labels`, class names separated by
spaces), so that predictions on the folder can be scored against them
(tools/score_classifications.py shows how).

With train_image_classifier.py's augmentation flags it writes the images as
training would augment them, to look at what they do:

    python tools/dump_images.py --dataset_name=shapes \
      --dataset_dir=/tmp/shapes --num_images=8 --output_dir=/tmp/augmented \
      --randaugment_layers=2 --random_erasing=0.5 --cutmix_alpha=1.0 --seed=1

RandAugment runs on the stored pixels; random erasing and mixup/cutmix on
them as floats in [0, 255] (training runs those two after the family's
preprocessing, which is left out here so the images stay viewable). Mixed
images are named by their label mixture (`00003_square0.62_circle0.38.png`);
mixing batches all --num_images together, so images of different sizes need
--image_size.
"""
import csv
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
import numpy as np
import tensorflow as tf

from datasets import dataset_factory
from datasets import label_csv
from flag_groups import training_flags
from image_classifier import cli
from image_classifier import fileio
from image_classifier import model_on_split
from image_classifier import specs
from preprocessing import augment
from slim.data import dataset_data_provider

tf1 = tf.compat.v1

flags.DEFINE_string('dataset_name', 'shapes', 'The dataset to read.')
flags.DEFINE_string('dataset_dir', None, 'Directory of the dataset.')
flags.DEFINE_string('dataset_split_name', 'validation', 'The split to read.')
flags.DEFINE_integer('num_images', 5, 'How many images to write; 0: the '
                     'whole split.')
flags.DEFINE_string('output_dir', None, 'Where the PNG files go.')
flags.DEFINE_integer('randaugment_layers', 0, 'RandAugment ops per image '
                     '(as train_image_classifier.py); 0: none.')
flags.DEFINE_integer('randaugment_magnitude', 10, 'RandAugment magnitude, '
                     f'0 to {augment.MAX_MAGNITUDE}.')
flags.DEFINE_float('random_erasing', 0.0, 'Probability of erasing a random '
                   'rectangle of each image.')
flags.DEFINE_float('mixup_alpha', 0.0, 'mixup Beta(alpha, alpha); 0: off.')
flags.DEFINE_float('cutmix_alpha', 0.0, 'cutmix Beta(alpha, alpha); 0: off.')
flags.DEFINE_integer('seed', None, 'Seed of the augmentations.')
flags.DEFINE_integer('image_size', None, 'Resize augmented images to this '
                     'square size first (bilinear); None keeps their size.')

FLAGS = flags.FLAGS
# The stored labels of the images written, beside them.
LABELS_CSV = 'labels.csv'


def _augmented(dataset, num_images, augmentation, image_size, seed):
  """(png, label) examples augmented as training would, in [0, 255]."""

  def as_float(image, height, width):
    image = tf.cast(image, tf.float32)
    return tf.image.resize(image, [height, width]) if image_size else image

  batches = model_on_split.split_batches(
      dataset,
      specs.InputSpec(batch_size=num_images if augmentation.per_batch else 1,
                      num_preprocessing_threads=0),
      as_float, image_size,
      model_on_split.Reading(augmentation=augmentation, seed=seed,
                             iterator=None),
      num_classes=dataset.num_classes).batches
  return batches.unbatch().take(num_images).map(
      lambda image, label: (tf.io.encode_png(tf.cast(
          tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)), label))


def _label_name(label, labels_to_names, multi_label=False):
  """'circle' for a class id; 'circle+cross' for the list of a multi-label
  record ('none' when empty); 'square0.62_circle0.38' for a mixture."""
  if label.ndim == 0:
    return labels_to_names.get(int(label), str(label))
  if multi_label:
    return '+'.join(_class_names(label, labels_to_names)) or 'none'
  order = [int(i) for i in label.argsort()[::-1] if label[i] > 0.005]
  return '_'.join(f'{labels_to_names.get(i, str(i))}{label[i]:.2f}'
                  for i in order)


def _class_names(label, labels_to_names):
  """The names of a record's class id, or of each id of its list."""
  ids = [int(label)] if np.ndim(label) == 0 else [int(i) for i in label]
  return [labels_to_names.get(i, str(i)) for i in ids]


def _labels_csv_text(rows):
  """`filename,labels` rows (file name, class names) as the CSV converter
  reads them (datasets/label_csv.py)."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  writer.writerow(label_csv.COLUMNS)
  for filename, names in rows:
    writer.writerow([filename, ' '.join(names)])
  return out.getvalue()


def dump_images(dataset, num_images, output_dir, augmentation=None,
                image_size=None, seed=None):
  """Writes the split's first `num_images` images; returns their paths.

  Without augmentation the stored labels also go to
  `<output_dir>/labels.csv` (LABELS_CSV), unless a class name holds a space,
  which that layout cannot carry.

  Args:
    dataset: a slim Dataset.
    num_images: how many images to write; 0 or less: all of them.
    output_dir: the existing directory they go to.
    augmentation: an augment.AugmentParams; None or all off writes the
      stored pixels as they are.
    image_size: with augmentation, resize to this square size first.
    seed: seed of the augmentation.

  Returns:
    The paths written, in order.
  """
  labels_to_names = dataset.labels_to_names or {}
  multi_label = bool(getattr(dataset, 'multi_label', False))
  augmented = augmentation is not None and augmentation.enabled
  if num_images <= 0:
    num_images = -1  # tf.data's take(-1): everything.
  if augmented:
    examples = _augmented(dataset, num_images, augmentation, image_size, seed)
  else:
    provider = dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, num_epochs=1)
    examples = provider.tf_dataset.take(num_images).map(
        lambda e: (tf.io.encode_png(e['image']), e['label']))
  next_example = tf1.data.make_one_shot_iterator(examples).get_next()
  paths, rows = [], []
  with tf1.Session() as sess:
    while True:
      try:
        png, label = sess.run(next_example)
      except tf.errors.OutOfRangeError:
        break
      name = _label_name(label, labels_to_names, multi_label)
      path = os.path.join(output_dir, f'{len(paths):05d}_{name}.png')
      with tf.io.gfile.GFile(path, 'wb') as f:  # Any filesystem.
        f.write(png)
      paths.append(path)
      if not augmented:
        rows.append((os.path.basename(path),
                     _class_names(label, labels_to_names)))
  if rows and not any(' ' in n for _, names in rows for n in names):
    fileio.write_atomic(os.path.join(output_dir, LABELS_CSV),
                        _labels_csv_text(rows))
  return paths


def main(unused_argv):
  if not FLAGS.dataset_dir or not FLAGS.output_dir:
    cli.fail('--dataset_dir and --output_dir must be set.')
  cli.ensure_writable_dir(FLAGS.output_dir, '--output_dir')
  augmentation = training_flags.augment_params(FLAGS)
  with tf.Graph().as_default():
    with cli.user_input():
      dataset = dataset_factory.get_dataset(
          FLAGS.dataset_name, FLAGS.dataset_split_name, FLAGS.dataset_dir)
    try:
      paths = dump_images(dataset, FLAGS.num_images, FLAGS.output_dir,
                          augmentation, FLAGS.image_size, FLAGS.seed)
    except tf.errors.InvalidArgumentError as e:
      if 'batch' not in (e.message or '') or FLAGS.image_size:
        raise
      cli.fail('mixup/cutmix batch the images, which differ in size here; '
               'give --image_size.')
    for path in paths:
      print(path)


if __name__ == '__main__':
  cli.run(main)
