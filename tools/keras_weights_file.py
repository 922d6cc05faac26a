"""Reads the weights of a Keras weights file, layer by layer, without Keras.

Keras publishes ImageNet weights in two layouts, and both are HDF5:

- the legacy `.h5` (Keras 2, `model.save_weights('x.h5')`, every
  `keras.applications` download): one group per top-level layer, whose
  `weight_names` attribute lists its weights in order as
  `<layer>/<weight>` (`<nested model>/<layer>/<weight>` inside a nested
  model); a whole-model save puts them under `model_weights/`;
- Keras 3's `.weights.h5`: `layers/<class name>[_N]/vars/<i>`, the layer's
  name in the `name` attribute of `vars` and its weights in order as `0`,
  `1`, ...; a nested model's layers sit under its own `layers/`.

Both come back as {layer name: [arrays in the layer's weight order]}, which
is all an importer needs: the order of a layer's weights is fixed by its
class (Conv2D: kernel, bias; BatchNormalization: gamma, beta, moving mean,
moving variance, less gamma/beta where the layer has none).

h5py comes with TensorFlow; nothing here imports Keras.
"""
import h5py
import numpy as np


class KerasWeightsError(ValueError):
  """The file is not a Keras weights file this reader understands."""


def read_layer_weights(path):
  """Returns {layer name: [numpy arrays, in the layer's weight order]}.

  Layers without weights are left out.

  Args:
    path: a legacy `.h5` or a Keras 3 `.weights.h5` file.

  Raises:
    KerasWeightsError: the file is not HDF5 (truncated, another format), or
      holds neither layout.
  """
  try:
    with h5py.File(path, 'r') as f:
      if 'layer_names' in f.attrs or 'model_weights' in f:
        return _read_legacy(f['model_weights'] if 'model_weights' in f else f)
      if 'layers' in f or 'vars' in f:
        layers = {}
        _read_keras3(f, layers)
        return layers
  except OSError as e:
    raise KerasWeightsError(
        f'{path} is not a readable HDF5 file (truncated or not a Keras '
        f'weights file): {e}') from None
  except KeyError as e:
    raise KerasWeightsError(
        f'{path} is missing part of its weights (truncated?): {e}') from None
  raise KerasWeightsError(
      f'{path} is an HDF5 file but not Keras weights (neither a legacy .h5 '
      f'with layer_names nor a Keras 3 .weights.h5 with layers/)')


def _decode(name):
  return name.decode('utf8') if isinstance(name, bytes) else str(name)


def _read_legacy(group):
  """Keys each weight by the layer that owns it: the path component before
  the weight's own name, so that a nested model's layers (ConvNeXt's stem,
  a Sequential) come back one by one, as in the Keras 3 layout."""
  layers = {}
  for layer_name in group.attrs['layer_names']:
    layer = group[_decode(layer_name)]
    for name in (_decode(n) for n in layer.attrs.get('weight_names', [])):
      parts = name.split('/')
      owner = parts[-2] if len(parts) > 2 else _decode(layer_name)
      layers.setdefault(owner, []).append(np.asarray(layer[name]))
  return layers


def _read_keras3(group, layers):
  """Walks `layers/*/vars` depth first (nested models keep their layers in
  their own `layers/`)."""
  for key in group.get('layers', {}):
    layer = group['layers'][key]
    variables = layer.get('vars')
    if variables is not None and len(variables):
      name = _decode(variables.attrs.get('name', key))
      layers[name] = [np.asarray(variables[str(i)])
                      for i in range(len(variables))]
    _read_keras3(layer, layers)
