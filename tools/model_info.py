"""What an exported model carries so that it classifies on its own.

A SavedModel or TFLite file written by tools/export_saved_model.py comes
with a small JSON record (`model_info.json` in the SavedModel's
`assets.extra/`, `<file>.json` beside a .tflite or a frozen GraphDef):
the network's name, input size, preprocessing, class names and label
offset, and `"multi_label": true` for a model whose probabilities are a
sigmoid per class (several labels per image; the key is absent otherwise). classify_images.py reads it, so `--model` and `--images` suffice.

The same preprocessing, in a graph, serves both the SavedModel's
`serving_default` signature (encoded image bytes in) and classify_images.py:
decode, then the network's eval preprocessing, as evaluation applies it.
"""
import dataclasses
import json
import os

import tensorflow as tf

from datasets import dataset_factory
from image_classifier import eval_report
from image_classifier import fileio
from preprocessing import preprocessing_factory

FORMAT_VERSION = 1
SAVED_MODEL_INFO = os.path.join('assets.extra', 'model_info.json')
# The SavedModel's signatures: encoded image bytes in, and float images in.
SERVING_SIGNATURE = 'serving_default'
IMAGES_SIGNATURE = 'preprocessed_images'


@dataclasses.dataclass
class ModelInfo:
  """The record an exported model carries.

  Attributes:
    model_name: the network's name in nets/registry.py.
    image_size: the square input size.
    preprocessing_name: the eval preprocessing the inputs need.
    labels: the name of each class the network predicts (num_classes).
    labels_offset: dataset label = network class + labels_offset.
    num_frames: frames of a video network's clip, None for images.
    use_grayscale: whether the input has one channel.
    dataset_name: the dataset the class names come from.
    tflite: for a .tflite file, its quantization and its input and output
      types with their scale and zero point; None otherwise.
    multi_label: whether the model gives each class its own probability
      (a sigmoid per class: several labels per image) rather than one
      distribution over the classes (a softmax).
    pixel_preprocessing: for a model without a record (a .tflite from
      elsewhere), what its inputs take: {'height', 'width', 'channels',
      'mean', 'std'}, the decoded image resized bilinearly to height x
      width, then (x - mean) / std (see `decode_and_resize_fn`); None: the
      eval preprocessing of preprocessing_name at image_size.
  """
  model_name: str
  image_size: int
  preprocessing_name: str
  labels: list
  labels_offset: int = 0
  num_frames: int = None
  use_grayscale: bool = False
  dataset_name: str = None
  tflite: dict = None
  pixel_preprocessing: dict = None
  multi_label: bool = False

  @property
  def num_classes(self):
    return len(self.labels)

  @property
  def input_size(self):
    """(height, width) of the images the model takes."""
    if self.pixel_preprocessing:
      return (self.pixel_preprocessing['height'],
              self.pixel_preprocessing['width'])
    return self.image_size, self.image_size

  def to_json(self):
    value = dict(dataclasses.asdict(self), format_version=FORMAT_VERSION,
                 num_classes=self.num_classes)
    # Records keep their layout (a single-label one has no multi_label).
    if value['pixel_preprocessing'] is None:
      del value['pixel_preprocessing']
    if not value['multi_label']:
      del value['multi_label']
    return value

  @classmethod
  def from_json(cls, value):
    fields = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in value.items() if k in fields})


def sidecar_path(model_file):
  """The JSON record beside a model file: `<file>.json`."""
  return model_file + '.json'


def write_info(path, info):
  """Writes `info` as JSON to `path`, atomically."""
  fileio.write_atomic(path, json.dumps(info.to_json(), indent=2,
                                       sort_keys=True) + '\n')


def read_info(path):
  """The ModelInfo stored at `path`, or None if there is no such file.

  Raises:
    ValueError: if the file is not a model record.
  """
  if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
    return None
  try:
    return ModelInfo.from_json(fileio.read_json(path))
  except (ValueError, TypeError, AttributeError) as e:
    raise ValueError(f'{path} is not a model record written by '
                     f'tools/export_saved_model.py ({e}).') from e


def class_names(dataset_name, dataset_dir, num_classes, labels_offset=0):
  """The name of each network class, from the dataset's labels.txt.

  Args:
    dataset_name: a dataset of datasets/dataset_factory.py.
    dataset_dir: the folder holding labels.txt; None or '' for none.
    num_classes: the network's class count.
    labels_offset: network class i is dataset label i + labels_offset.

  Returns:
    A list of num_classes names; the class id where labels.txt has none.
  """
  labels_to_names = None
  if dataset_name and dataset_dir:
    descriptor = dataset_factory.get_descriptor(dataset_name)
    if tf.io.gfile.exists(os.path.join(dataset_dir,
                                       descriptor.labels_filename)):
      from datasets import dataset_utils  # pylint: disable=import-outside-toplevel
      labels_to_names = dataset_utils.read_label_file(
          dataset_dir, descriptor.labels_filename)
  return eval_report.class_names(labels_to_names, num_classes, labels_offset)


def decode_and_preprocess_fn(preprocessing_name, image_size,
                             use_grayscale=False):
  """fn(encoded) for one encoded image (JPEG, PNG, GIF, BMP; any size).

  Decodes to RGB, then applies the network's eval preprocessing, as
  evaluation does to a dataset's decoded images.

  Args:
    preprocessing_name: a name of preprocessing_factory.
    image_size: the square output size.
    use_grayscale: convert to one channel, as the preprocessing does.

  Returns:
    fn(encoded scalar string tensor) -> float32 [image_size, image_size,
    channels] tensor.

  Raises:
    ValueError: for an unknown preprocessing name.
  """
  preprocessing_fn = preprocessing_factory.get_preprocessing(
      preprocessing_name, is_training=False, use_grayscale=use_grayscale)

  def decode_and_preprocess(encoded):
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    image = preprocessing_fn(image, image_size, image_size)
    return tf.cast(image, tf.float32)

  return decode_and_preprocess


def decode_and_resize_fn(height, width, channels, mean, std):
  """fn(encoded) for a model that carries no preprocessing of its own.

  Decodes to RGB, resizes bilinearly to height x width as Pillow and
  TensorFlow Lite's label_image example do (pixel centers aligned, the
  image's whole area averaged when it shrinks), converts to one channel
  if the model takes one, then (x - mean) / std.

  Args:
    height: the model's input height.
    width: the model's input width.
    channels: 3 (RGB) or 1 (gray).
    mean: subtracted from each pixel value (0-255).
    std: pixel values are then divided by this.

  Returns:
    fn(encoded scalar string tensor) -> float32 [height, width, channels].
  """

  def decode_and_resize(encoded):
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    image = tf.image.resize(image, [height, width], method='bilinear',
                            antialias=True)
    if channels == 1:
      image = tf.image.rgb_to_grayscale(image)
    return (image - mean) / std

  return decode_and_resize


def image_fn(info):
  """fn(encoded) -> the float32 image `info`'s model takes."""
  if info.pixel_preprocessing:
    return decode_and_resize_fn(**info.pixel_preprocessing)
  return decode_and_preprocess_fn(info.preprocessing_name, info.image_size,
                                  info.use_grayscale)
