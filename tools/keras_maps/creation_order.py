"""Our layers in the order our network makes them: for the Keras models
whose layers have no names of their own, and for maps that follow our
layers by a naming rule (MobileNet v3's optional squeeze-excite).

Keras names a layer built without a name after its class and a session-wide
count (`conv2d_17`): Inception v3's and Inception-ResNet v2's convolutions
and batch norms are known only by their order, which is the order their
builders make them in, and ours makes the same layers in the same order
(tests/nets/test_keras_parity_existing.py checks it).
"""
import functools


_KERNELS = ('weights', 'depthwise_weights')


@functools.lru_cache(maxsize=None)
def conv_scopes(model_name, num_classes=1000):
  """The scopes of `model_name`'s convolutions and fully connected layers
  (their `weights` or `depthwise_weights`), in creation order. Builds the
  network once in a throwaway graph."""
  from tools import keras_import  # pylint: disable=import-outside-toplevel
  names = keras_import.network_variables(model_name, num_classes)
  return tuple(scope for scope, _, kernel in
               (name.rpartition('/') for name in names)
               if kernel in _KERNELS)


def numbered(prefix, index):
  """Keras' name of the index-th unnamed layer of a class (from 0)."""
  return prefix if index == 0 else f'{prefix}_{index}'
