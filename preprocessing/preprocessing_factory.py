"""Contains a factory for building various models.

Maps preprocessing family names ('center_crop', 'cifarnet', 'inception',
'lenet', 'vgg') to their modules. It knows no network: image_classifier
picks a network's family from its record in nets/registry.py
(`network.preprocessing_for`).
For code written against slim's original factory, which took network names
too (`get_preprocessing('inception_v3')`), `MODEL_ALIASES` keeps that
mapping: the original's 32 network names plus the eight it missed
(alexnet_v2, overfeat, i3d, s3dg, mobilenet_v1_075/050/025, nasnet_cifar).
tests/preprocessing/test_preprocessing_factory.py checks that it names the
family of every network in nets/registry.py, so the two cannot drift.
"""
import importlib

# Preprocessing families and the module that implements each.
PREPROCESSING_FAMILIES = {
    'center_crop': 'preprocessing.center_crop_preprocessing',
    'cifarnet': 'preprocessing.cifarnet_preprocessing',
    'inception': 'preprocessing.inception_preprocessing',
    'lenet': 'preprocessing.lenet_preprocessing',
    'vgg': 'preprocessing.vgg_preprocessing',
}

# Network name -> its preprocessing family, for the original's callers.
MODEL_ALIASES = {
    'alexnet_v2': 'vgg',
    'cifarnet': 'cifarnet',
    'overfeat': 'vgg',
    'vgg_a': 'vgg',
    'vgg_16': 'vgg',
    'vgg_19': 'vgg',
    'inception_v1': 'inception',
    'inception_v2': 'inception',
    'inception_v3': 'inception',
    'inception_v4': 'inception',
    'inception_resnet_v2': 'inception',
    'i3d': 'inception',
    's3dg': 'inception',
    'lenet': 'lenet',
    'resnet_v1_50': 'vgg',
    'resnet_v1_101': 'vgg',
    'resnet_v1_152': 'vgg',
    'resnet_v1_200': 'vgg',
    'resnet_v2_50': 'vgg',
    'resnet_v2_101': 'vgg',
    'resnet_v2_152': 'vgg',
    'resnet_v2_200': 'vgg',
    'mobilenet_v1': 'inception',
    'mobilenet_v1_075': 'inception',
    'mobilenet_v1_050': 'inception',
    'mobilenet_v1_025': 'inception',
    'mobilenet_v2': 'inception',
    'mobilenet_v2_140': 'inception',
    'mobilenet_v2_035': 'inception',
    'mobilenet_v3_small': 'inception',
    'mobilenet_v3_large': 'inception',
    'mobilenet_v3_small_minimalistic': 'inception',
    'mobilenet_v3_large_minimalistic': 'inception',
    'mobilenet_edgetpu': 'inception',
    'mobilenet_edgetpu_075': 'inception',
    'nasnet_cifar': 'cifarnet',
    'nasnet_mobile': 'inception',
    'nasnet_large': 'inception',
    'pnasnet_large': 'inception',
    'pnasnet_mobile': 'inception',
    'convnext_tiny': 'center_crop',
    'convnext_small': 'center_crop',
    'convnext_base': 'center_crop',
    'convnext_large': 'center_crop',
    'convnext_xlarge': 'center_crop',
    'efficientnet_v2_b0': 'center_crop',
    'efficientnet_v2_b1': 'center_crop',
    'efficientnet_v2_b2': 'center_crop',
    'efficientnet_v2_b3': 'center_crop',
    'efficientnet_v2_s': 'center_crop',
    'efficientnet_v2_m': 'center_crop',
    'efficientnet_v2_l': 'center_crop',
    'efficientnet_b0': 'center_crop',
    'efficientnet_b1': 'center_crop',
    'efficientnet_b2': 'center_crop',
    'efficientnet_b3': 'center_crop',
    'efficientnet_b4': 'center_crop',
    'efficientnet_b5': 'center_crop',
    'efficientnet_b6': 'center_crop',
    'efficientnet_b7': 'center_crop',
}


def _family_of(name):
  """The preprocessing family for a family or network name, or None."""
  if name in PREPROCESSING_FAMILIES:
    return name
  return MODEL_ALIASES.get(name)


def preprocessing_names():
  """All names `get_preprocessing` accepts, sorted.

  Returns:
    A sorted list of the family names and the network-name aliases.
  """
  return sorted(set(PREPROCESSING_FAMILIES) | set(MODEL_ALIASES))


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
  return importlib.import_module(PREPROCESSING_FAMILIES[family])


def get_preprocessing(name, is_training=False, use_grayscale=False):
  """Returns preprocessing_fn(image, height, width, **kwargs).

  Args:
    name: The name of the preprocessing function: a family ('center_crop',
      'cifarnet', 'inception', 'lenet', 'vgg') or, as in the original, a network name
      (`MODEL_ALIASES`).
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
