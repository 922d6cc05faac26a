"""Resolving --model_name, --dataset_* and --preprocessing_name flags into
the dataset, network function and preprocessing function that training and
evaluation build on, with user errors reported as one line (see `cli`).
"""
import collections

from datasets import dataset_factory
from image_classifier import cli
from nets import nets_factory
from nets.registry import NETWORKS
from preprocessing import preprocessing_factory


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


ModelInputs = collections.namedtuple(
    'ModelInputs',
    ['dataset', 'num_classes', 'network_fn', 'preprocessing_fn',
     'image_size'])


def model_inputs(values, is_training, image_size=None, split_name=None,
                 **network_kwargs):
  """The dataset, network and preprocessing that the flag values name.

  Args:
    values: flag values with dataset_name, dataset_split_name, dataset_dir,
      labels_offset, model_name, preprocessing_name and use_grayscale.
    is_training: whether the network and preprocessing are for training.
    image_size: the square input size; None uses the network's default.
    split_name: the dataset split; None uses values.dataset_split_name.
    **network_kwargs: more arguments of `nets_factory.get_network_fn`
      (e.g. weight_decay).

  Returns:
    A ModelInputs: the dataset, the class count the network is built for
    (the dataset's less --labels_offset), network_fn, preprocessing_fn and
    the image size.

  Raises:
    cli.UserError: for an unknown dataset, split or preprocessing name.
  """
  with cli.user_input():
    dataset = dataset_factory.get_dataset(
        values.dataset_name, split_name or values.dataset_split_name,
        values.dataset_dir)
  num_classes = dataset.num_classes - values.labels_offset
  network_fn = nets_factory.get_network_fn(
      values.model_name, num_classes=num_classes, is_training=is_training,
      **network_kwargs)
  with cli.user_input('--preprocessing_name'):
    preprocessing_fn = preprocessing_factory.get_preprocessing(
        values.preprocessing_name or values.model_name,
        is_training=is_training, use_grayscale=values.use_grayscale)
  return ModelInputs(dataset, num_classes, network_fn, preprocessing_fn,
                     image_size or network_fn.default_image_size)

