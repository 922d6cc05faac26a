"""Writes the first images of a dataset split as files, named by label.

    python tools/dump_images.py --dataset_name=shapes --dataset_dir=/tmp/shapes \
      --dataset_split_name=validation --num_images=3 --output_dir=/tmp/samples

Handy for looking at converted data and for feeding label_image
(`/tmp/samples/00000_circle.png`). Images are written as PNG.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
import tensorflow as tf

from datasets import dataset_factory
from image_classifier import cli
from slim.data import dataset_data_provider

tf1 = tf.compat.v1

flags.DEFINE_string('dataset_name', 'shapes', 'The dataset to read.')
flags.DEFINE_string('dataset_dir', None, 'Directory of the dataset.')
flags.DEFINE_string('dataset_split_name', 'validation', 'The split to read.')
flags.DEFINE_integer('num_images', 5, 'How many images to write.')
flags.DEFINE_string('output_dir', None, 'Where the PNG files go.')

FLAGS = flags.FLAGS


def dump_images(dataset, num_images, output_dir):
  """Writes the split's first `num_images` images; returns their paths."""
  labels_to_names = dataset.labels_to_names or {}
  provider = dataset_data_provider.DatasetDataProvider(
      dataset, shuffle=False, num_epochs=1)
  examples = provider.tf_dataset.take(num_images).map(
      lambda e: (tf.io.encode_png(e['image']), e['label']))
  next_example = tf1.data.make_one_shot_iterator(examples).get_next()
  paths = []
  with tf1.Session() as sess:
    while True:
      try:
        png, label = sess.run(next_example)
      except tf.errors.OutOfRangeError:
        return paths
      name = labels_to_names.get(int(label), str(label))
      path = os.path.join(output_dir, f'{len(paths):05d}_{name}.png')
      with open(path, 'wb') as f:
        f.write(png)
      paths.append(path)


def main(unused_argv):
  if not FLAGS.dataset_dir or not FLAGS.output_dir:
    cli.fail('--dataset_dir and --output_dir must be set.')
  cli.ensure_writable_dir(FLAGS.output_dir, '--output_dir')
  with tf.Graph().as_default():
    with cli.user_input():
      dataset = dataset_factory.get_dataset(
          FLAGS.dataset_name, FLAGS.dataset_split_name, FLAGS.dataset_dir)
    for path in dump_images(dataset, FLAGS.num_images, FLAGS.output_dir):
      print(path)


if __name__ == '__main__':
  cli.run(main)
