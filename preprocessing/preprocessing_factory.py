"""Contains a factory for building various models.

Accepts the same names as slim's original `preprocessing_factory` (the four
family names and the network names), read from `nets.registry` so that every
registered network has a preprocessing; the original's map missed eight
networks (alexnet_v2, overfeat, i3d, s3dg, mobilenet_v1_075/050/025,
nasnet_cifar).
"""
import importlib

from nets import registry


def _family_of(name):
  """The preprocessing family for a family or network name, or None."""
  if name in registry.PREPROCESSING_FAMILIES:
    return name
  spec = registry.NETWORKS.get(name)
  return spec.preprocessing if spec is not None else None


def preprocessing_names():
  """All names `get_preprocessing` accepts, sorted.

  Returns:
    A sorted list of the family names and the registered network names.
  """
  return sorted(set(registry.PREPROCESSING_FAMILIES) | set(registry.NETWORKS))


def get_preprocessing_module(name):
  """Returns the preprocessing module for a family or network name.

  Args:
    name: The name of the preprocessing family or of a network.

  Returns:
    The module (e.g. `preprocessing.inception_preprocessing`).

  Raises:
    ValueError: If preprocessing `name` is not recognized.
  """
  family = _family_of(name) if isinstance(name, str) else None
  if family is None:
    raise ValueError('Preprocessing name [%s] was not recognized. Valid '
                     'names: %s.' % (name, ', '.join(preprocessing_names())))
  return importlib.import_module(registry.PREPROCESSING_FAMILIES[family])


def get_preprocessing(name, is_training=False, use_grayscale=False):
  """Returns preprocessing_fn(image, height, width, **kwargs).

  Args:
    name: The name of the preprocessing function: a family ('cifarnet',
      'inception', 'lenet', 'vgg') or a network name from `nets.registry`.
    is_training: `True` if the model is being used for training and `False`
      otherwise.
    use_grayscale: Whether to convert the image from RGB to grayscale.

  Returns:
    preprocessing_fn: A function that preprocessing a single image (pre-batch).
      It has the following signature:
        image = preprocessing_fn(image, output_height, output_width, ...).
      Extra keyword arguments go to the family's `preprocess_image` (for
      example `add_image_summaries=False` or `resize_side_min=...`).

  Raises:
    ValueError: If Preprocessing `name` is not recognized.
  """
  module = get_preprocessing_module(name)

  def preprocessing_fn(image, output_height, output_width, **kwargs):
    return module.preprocess_image(
        image,
        output_height,
        output_width,
        is_training=is_training,
        use_grayscale=use_grayscale,
        **kwargs)

  return preprocessing_fn
