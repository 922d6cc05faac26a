"""What a Keras-weights importer needs to know about one network.

Pure data (no TensorFlow, no Keras), so `tools/download_checkpoint.py` and
the README's table can read it.
"""
import dataclasses
from typing import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class KerasWeights:
  """The published Keras ImageNet weights of one of our networks.

  Attributes:
    application: the `keras.applications` constructor that computes the
      same function (`EfficientNetB0`), for the README and the tests.
    url: where Keras downloads the weights with the top (legacy `.h5`).
    file_hash: the hash Keras checks the file against (`md5` when 32 hex
      digits, SHA-256 when 64), '' when Keras records none.
    num_classes: the class count of the weights (ImageNet: 1000).
    labels_offset: the --labels_offset they need with the 1001-class
      ImageNet records.
    notes: how the two differ where they do (input channel order, ...),
      for the README table; '' when they compute the same function on the
      same input.
  """
  application: str
  url: str
  file_hash: str = ''
  num_classes: int = 1000
  labels_offset: int = 1
  notes: str = ''

  @property
  def file_name(self):
    return self.url.rsplit('/', 1)[-1]


@dataclasses.dataclass(frozen=True)
class Target:
  """One of our variables that a Keras weight becomes, and how.

  Attributes:
    variable: our checkpoint variable's name (`efficientnet_b0/stem/conv/
      weights`).
    transform: turns the Keras array into ours (a channel flip, a
      reshape the importer would not guess); None copies it, reshaped only
      where the two shapes differ by leading 1s (a Dense kernel becoming a
      1x1 convolution's).
  """
  variable: str
  transform: Callable[[np.ndarray], np.ndarray] | None = None


def targets(names):
  """`Target`s (and `Fixed`s) from a mix of them and plain variable names."""
  return tuple(t if isinstance(t, (Target, Fixed)) else Target(t)
               for t in names)


@dataclasses.dataclass(frozen=True)
class Fixed:
  """A Keras weight that is a constant of our network function (the input
  normalisation's mean and variance): the importer checks that the file
  holds this value and keeps no variable for it.

  Attributes:
    value: what the weight must equal (compared within `atol`), or None to
      accept any value (a count that no computation reads).
    atol: the tolerance of the comparison.
  """
  value: object = None
  atol: float = 1e-6


def batch_norm(scope, scale=True):
  """Our batch norm's variables under `scope`, in Keras' weight order
  (gamma where it has a scale, beta, moving mean, moving variance)."""
  names = ('gamma',) if scale else ()
  names += ('beta', 'moving_mean', 'moving_variance')
  return tuple(f'{scope}/{name}' for name in names)


def conv(scope, bias=True):
  """Our convolution's (or fully connected layer's) variables under
  `scope`, in Keras' order (kernel, bias)."""
  return (f'{scope}/weights',) + ((f'{scope}/biases',) if bias else ())
