"""Classifies an image with a (frozen) GraphDef and prints the top 5 labels.

    python tools/label_image.py --graph=/tmp/frozen_cifarnet.pb \
      --labels=/tmp/shapes/labels.txt --image=/tmp/some.png \
      --input_layer=input --output_layer=CifarNet/Predictions/Reshape_1 \
      --input_height=32 --input_width=32 --input_mean=127.5 --input_std=127.5

The flags are those of TensorFlow's label_image example: the image is decoded,
resized bilinearly to input_height x input_width, then (x - input_mean) /
input_std is fed to input_layer. Left unset, --input_height/--input_width
take the input layer's static size when it has one (a 32x32 CifarNet graph
needs neither), else 299. Labels may be plain lines or the slim
`N:name` lines of a dataset's labels.txt. An image whose header gives more
than --max_image_pixels pixels (default: Pillow's limit, about 89.5 million)
is refused before it is decoded, and before TensorFlow is even loaded.

The output layer's values are printed as they are, best first: a
multi-label graph (exported for a dataset with several labels per image)
frozen with --output_node_names=MultiLabel/Predictions gives each class's
own probability (the sigmoid of its logit), so pass
--output_layer=MultiLabel/Predictions; no softmax is applied.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import flags
import numpy as np

from datasets import image_coding
from image_classifier import cli
from image_classifier import fileio
from tools import labels_file

# label_image's size when neither the flags nor the graph give one.
DEFAULT_SIZE = 299

flags.DEFINE_string('image', '', 'Image file to classify (JPEG, PNG, GIF, '
                    'BMP).')
flags.DEFINE_string('graph', '', 'Frozen GraphDef (binary or text).')
flags.DEFINE_string('labels', '', 'Labels file, one label a line.')
flags.DEFINE_string('input_layer', 'input', 'Name of the input node.')
flags.DEFINE_string('output_layer', 'InceptionV3/Predictions/Reshape_1',
                    'Name of the output node.')
flags.DEFINE_integer('input_height', DEFAULT_SIZE, 'Height the image is '
                     'resized to; left unset, the input layer\'s static '
                     'height if it has one.')
flags.DEFINE_integer('input_width', DEFAULT_SIZE, 'Width the image is '
                     'resized to; left unset, the input layer\'s static '
                     'width if it has one.')
flags.DEFINE_float('input_mean', 0, 'Subtracted from each pixel value.')
flags.DEFINE_float('input_std', 255, 'Pixel values are divided by this.')
flags.DEFINE_integer('top_k', 5, 'How many labels to print.')
flags.DEFINE_integer('max_image_pixels',
                     image_coding.DEFAULT_MAX_IMAGE_PIXELS,
                     'Images whose header gives more pixels (width * height) '
                     'are refused before decoding.')

FLAGS = flags.FLAGS


def _exists(path):
  """Whether anything is at `path`: locally a dangling symlink counts (it
  is refused by name below); elsewhere through tf.io.gfile."""
  if fileio.is_local(path):
    return os.path.lexists(path)
  return fileio.gfile().exists(path)


def read_image_file(path, max_pixels=image_coding.DEFAULT_MAX_IMAGE_PIXELS):
  """The bytes of image file `path`, its size checked from its header.

  Args:
    path: the --image file.
    max_pixels: the largest width * height accepted.

  Returns:
    The encoded bytes, not decoded yet.

  Raises:
    ValueError: `path` is missing, not a regular file, not an image, or has
      more than `max_pixels` pixels.
  """
  if not _exists(path):
    raise ValueError(f'--image={path} does not exist.')
  try:
    data = image_coding.read_regular_file(path)
    image_coding.check_image_header(data, max_pixels)
  except image_coding.UnusableImage as e:
    raise ValueError(f'--image={path}: {e}.') from None
  return data


def load_image(path, encoded, height, width, mean, std):
  """[1, height, width, 3] float32: resized, then (x - mean) / std.

  Args:
    path: the image file, for messages.
    encoded: its bytes, from `read_image_file`.
    height: the height to resize to.
    width: the width to resize to.
    mean: subtracted from each pixel value.
    std: pixel values are divided by this.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf1 = tf.compat.v1
  with tf.Graph().as_default():
    data = tf1.placeholder(tf.string, [])
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image = tf.expand_dims(tf.cast(image, tf.float32), 0)
    image = tf1.image.resize_bilinear(image, [height, width])
    image = (image - mean) / std
    with tf1.Session() as sess:
      try:
        return sess.run(image, {data: encoded})
      except tf.errors.InvalidArgumentError as e:
        raise ValueError(f'--image={path} is not a readable image: '
                         f'{e.message.splitlines()[0]}') from e


def input_size(graph_def, input_layer, height=None, width=None):
  """The (height, width) to resize to: those given, else the input layer's
  static size, else label_image's default 299.

  Args:
    graph_def: the graph.
    input_layer: the input node's name.
    height: --input_height if the user set it, else None.
    width: --input_width if the user set it, else None.
  """
  static = [None, None]
  for node in graph_def.node:
    if node.name == input_layer and 'shape' in node.attr:
      dims = [d.size for d in node.attr['shape'].shape.dim]
      if len(dims) == 4:
        static = [d if d > 0 else None for d in dims[1:3]]
      break
  return (height or static[0] or DEFAULT_SIZE,
          width or static[1] or DEFAULT_SIZE)


def classify(graph_def, image, input_layer, output_layer):
  """Runs the graph; returns the output's values for the one image."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf1 = tf.compat.v1
  with tf.Graph().as_default() as graph:
    tf1.import_graph_def(graph_def, name='')
    try:
      inputs = graph.get_tensor_by_name(input_layer + ':0')
      outputs = graph.get_tensor_by_name(output_layer + ':0')
    except (KeyError, ValueError) as e:
      raise ValueError(f'{e} Use tools/summarize_graph.py to list the '
                       'graph\'s inputs and outputs.') from e
    with tf1.Session(graph=graph) as sess:
      return np.squeeze(sess.run(outputs, {inputs: image}))


def main(unused_argv):
  for name in ('image', 'graph'):
    if not FLAGS[name].value:
      cli.fail(f'--{name} must be set.')
  with cli.user_input():
    labels = labels_file.read_labels(FLAGS.labels) if FLAGS.labels else {}
    encoded = read_image_file(FLAGS.image, FLAGS.max_image_pixels)
  # TensorFlow loads only now, once the image has passed its header check
  # (the tf_env import first hides its start-up banners).
  from image_classifier import tf_env  # pylint: disable=g-import-not-at-top,unused-import
  from tools import graph_io  # pylint: disable=g-import-not-at-top
  with cli.user_input():
    graph_def = graph_io.read_graph_def(FLAGS.graph)
    height, width = input_size(
        graph_def, FLAGS.input_layer,
        FLAGS.input_height if FLAGS['input_height'].present else None,
        FLAGS.input_width if FLAGS['input_width'].present else None)
    image = load_image(FLAGS.image, encoded, height, width, FLAGS.input_mean,
                       FLAGS.input_std)
    scores = classify(graph_def, image, FLAGS.input_layer, FLAGS.output_layer)
  for i in scores.argsort()[-FLAGS.top_k:][::-1]:
    print(f'{labels.get(int(i), str(i))} {scores[i]:.5f}')


if __name__ == '__main__':
  cli.run(main)
