"""TF-Slim on TensorFlow 2.16-2.21: `import slim` does what
`import tensorflow.contrib.slim as slim` did.

The flat namespace (`slim.conv2d`, `slim.arg_scope`, `slim.get_variables`,
`slim.l2_regularizer`, ...) and the submodules (`slim.losses`,
`slim.metrics`, `slim.learning`, `slim.evaluation`, `slim.dataset`,
`slim.tfexample_decoder`, `slim.dataset_data_provider`,
`slim.parallel_reader`, `slim.queues`,
`slim.prefetch_queue`, `slim.nets`, ...) are resolved lazily (PEP 562) on first
use, so `import slim` stays cheap and a script pays only for what it touches.
"""
import importlib

# Submodules reachable as attributes: `slim.losses`, `slim.dataset`, ...
_SUBMODULES = {
    'scopes': 'slim.scopes',
    'variables': 'slim.variables',
    'initializers': 'slim.initializers',
    'regularizers': 'slim.regularizers',
    'layers': 'slim.layers',
    'losses': 'slim.losses',
    'metrics': 'slim.metrics',
    'learning': 'slim.learning',
    'evaluation': 'slim.evaluation',
    'summaries': 'slim.summaries',
    'queues': 'slim.queues',
    'prefetch_queue': 'slim.prefetch_queue',
    'quantize': 'slim.quantize',
    'data': 'slim.data',
    'dataset': 'slim.data.dataset',
    'data_decoder': 'slim.data.data_decoder',
    'data_provider': 'slim.data.data_provider',
    'tfexample_decoder': 'slim.data.tfexample_decoder',
    'dataset_data_provider': 'slim.data.dataset_data_provider',
    'parallel_reader': 'slim.data.parallel_reader',
    'utils': 'slim.layers.utils',
    'precision': 'slim.precision',
    'precision_scope': 'slim.precision_scope',
    'nets': 'nets',
}

# Modules whose public names make up the flat namespace, searched in order.
_FLAT_MODULES = (
    'slim.scopes',
    'slim.variables',
    'slim.layers',
    'slim.initializers',
    'slim.regularizers',
    'slim.summaries',
)


def __getattr__(name):
  if name in _SUBMODULES:
    value = importlib.import_module(_SUBMODULES[name])
  else:
    for module_name in _FLAT_MODULES:
      module = importlib.import_module(module_name)
      if name in getattr(module, '__all__', ()):
        value = getattr(module, name)
        break
    else:
      raise AttributeError(f"module 'slim' has no attribute {name!r}")
  globals()[name] = value
  return value


def __dir__():
  names = set(globals()) | set(_SUBMODULES)
  for module_name in _FLAT_MODULES:
    names.update(getattr(importlib.import_module(module_name), '__all__', ()))
  return sorted(names)
