"""The network library: one module per family (nets.vgg, nets.inception_v3,
nets.resnet_v1, nets.mobilenet.mobilenet_v2, ...) and nets_factory.

Submodules are imported on first attribute access, so `slim.nets.vgg` works
as `tf.contrib.slim.nets.vgg` did without importing every family up front.
"""
import importlib


def __getattr__(name):
  try:
    module = importlib.import_module(f'{__name__}.{name}')
  except ModuleNotFoundError as e:
    if e.name != f'{__name__}.{name}':
      raise
    raise AttributeError(f"module 'nets' has no attribute {name!r}") from None
  globals()[name] = module
  return module
