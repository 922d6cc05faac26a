"""What a network name means to the entry points: whether it is an image
model, the preprocessing family it takes (the model -> family lookup; the
preprocessing factory knows no networks), a dataset's class count, and the
inference graph (the network on an `input` placeholder) that the exports
and classify_images.py build on. User errors end in one line (see `cli`).
"""

import tensorflow as tf

from datasets import dataset_factory
from image_classifier import cli
from image_classifier import restore
from nets import nets_factory
from nets.registry import NETWORKS

tf1 = tf.compat.v1


def check_model_name(model_name):
  """Fails with the list of valid names unless `model_name` is a network."""
  with cli.user_input('--model_name'):
    nets_factory.get_network_fn(model_name, 1)


def check_image_model(model_name, script):
  """Fails unless `model_name` is a network taking images (not video).

  Args:
    model_name: the --model_name value.
    script: what the script does, ending the message, e.g.
      'train_image_classifier.py trains image models.'
  """
  check_model_name(model_name)
  if NETWORKS[model_name].is_video:
    cli.fail(f'--model_name={model_name} is a video model; {script}')


def preprocessing_for(model_name, preprocessing_name=None):
  """The preprocessing family to build: the one named, else the network's.

  The preprocessing factory knows no networks; the network's record in
  nets/registry.py says which family it trains and evaluates with.

  Args:
    model_name: a registered network name.
    preprocessing_name: the --preprocessing_name value (None or '' for the
      network's own).

  Returns:
    A name `preprocessing_factory.get_preprocessing` accepts.
  """
  if preprocessing_name:
    return preprocessing_name
  return NETWORKS[model_name].preprocessing


def dataset_num_classes(dataset_name, dataset_dir):
  """The class count of a dataset, from its descriptor (or meta file)."""
  descriptor = dataset_factory.get_descriptor(dataset_name)
  if descriptor.num_classes is not None:
    return descriptor.num_classes
  if not dataset_dir:
    raise ValueError(f'--dataset_name={dataset_name} stores its class count '
                     'in dataset_meta.json: pass --dataset_dir.')
  return descriptor.read_meta(dataset_dir)[1]


def is_multi_label(dataset_name, dataset_dir):
  """Whether a dataset holds several labels per image.

  Its descriptor says, or for a dataset that keeps its facts in
  dataset_meta.json (`custom`, `shapes`), that file in `dataset_dir`.
  Without a dataset name, or without the dataset_dir such a dataset needs
  (a model whose class count comes from elsewhere, such as a frozen graph
  classified with only --dataset_name), it is taken as single-label.

  Raises:
    ValueError: for an unknown dataset name, or a malformed meta file.
  """
  if not dataset_name:
    return False
  descriptor = dataset_factory.get_descriptor(dataset_name)
  if descriptor.splits_to_sizes is None and not dataset_dir:
    return descriptor.multi_label
  return descriptor.is_multi_label(dataset_dir or None)


# The inference graph's output of a multi-label network: the per-class
# sigmoid of its logits (freeze with --output_node_names=MultiLabel/Predictions).
MULTI_LABEL_PREDICTIONS = 'MultiLabel/Predictions'


def class_probabilities(logits, multi_label, name):
  """The probabilities a classifier reports, from its logits.

  The one place where single- and multi-label outputs differ: a softmax
  over the classes (one label per image), or a sigmoid per class (each
  class present or not, independently; several labels per image), as the
  training losses take them.

  Args:
    logits: [..., num_classes] float logits.
    multi_label: sigmoid instead of softmax.
    name: the output op's name.

  Returns:
    A float tensor shaped as `logits`.
  """
  if multi_label:
    return tf.sigmoid(logits, name=name)
  return tf.nn.softmax(logits, name=name)


def build_inference_graph(model_name, num_classes, is_training=False,
                          image_size=None, batch_size=None,
                          is_video_model=False, num_frames=None,
                          use_grayscale=False, default_input=None,
                          precision='float32', quantize=False,
                          multi_label=False):
  """Builds the network on an `input` placeholder in the current graph.

  Args:
    model_name: the network's name.
    num_classes: the classes it predicts.
    is_training: build the training graph.
    image_size: the square input size; None uses the network's default.
    batch_size: a static batch size, or None for a dynamic one.
    is_video_model: the input is [batch, frames, height, width, channels].
    num_frames: the frames of a video model's input.
    use_grayscale: one input channel instead of 3.
    default_input: optional tensor that `input` takes when it is not fed (a
      SavedModel's image-bytes signature computes it); `input` is then a
      PlaceholderWithDefault of the same name and shape.
    precision: 'float32', 'bfloat16' or 'float16' (see `slim.precision`);
      the input stays a float32 placeholder either way.
    quantize: then rewrite the graph as for evaluation after
      quantization-aware training (`restore.quantize_inference_graph`).
    multi_label: the network predicts several labels per image: its
      end_points['Predictions'] becomes the sigmoid of its logits, an op
      named MULTI_LABEL_PREDICTIONS (the network's own softmax stays in
      the graph, unused).

  Returns:
    (placeholder, logits, end_points).

  Raises:
    cli.UserError: with `quantize`, naming the layer of a network that
      cannot be quantized.
  """
  network_fn = nets_factory.get_network_fn(model_name, num_classes,
                                           is_training=is_training,
                                           precision=precision)
  image_size = image_size or network_fn.default_image_size
  channels = 1 if use_grayscale else 3
  if is_video_model:
    shape = [batch_size, num_frames, image_size, image_size, channels]
  else:
    shape = [batch_size, image_size, image_size, channels]
  if default_input is None:
    placeholder = tf1.placeholder(tf.float32, shape=shape, name='input')
  else:
    placeholder = tf1.placeholder_with_default(default_input, shape,
                                               name='input')
  logits, end_points = network_fn(placeholder)
  if quantize:
    restore.quantize_inference_graph(model_name)
  if multi_label:
    end_points = dict(end_points, Predictions=class_probabilities(
        logits, True, MULTI_LABEL_PREDICTIONS))
  return placeholder, logits, end_points
