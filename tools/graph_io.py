"""Reading and writing GraphDefs, binary or text, atomically, on any
filesystem tf.io.gfile knows."""
import tensorflow as tf
from google.protobuf import text_format

from image_classifier import fileio


def read_graph_def(path, binary=None):
  """Reads a GraphDef from `path`.

  Args:
    path: the file.
    binary: True/False, or None to guess (text if it parses as text).

  Returns:
    A tf.compat.v1.GraphDef.

  Raises:
    ValueError: if the file is missing or is not a GraphDef.
  """
  if not path or tf.io.gfile.isdir(path) or not tf.io.gfile.exists(path):
    raise ValueError(f'Graph file {path!r} does not exist.')
  with tf.io.gfile.GFile(path, 'rb') as f:
    data = f.read()
  graph_def = tf.compat.v1.GraphDef()
  attempts = [binary] if binary is not None else [True, False]
  for as_binary in attempts:
    try:
      if as_binary:
        graph_def.ParseFromString(data)
        if graph_def.node or not data:
          return graph_def
      else:
        text_format.Merge(data.decode('utf-8'), graph_def)
        return graph_def
    except Exception:  # Not this encoding; try the next.
      graph_def.Clear()
  kind = {True: 'binary', False: 'text', None: 'binary or text'}[binary]
  raise ValueError(f'{path} is not a {kind} GraphDef.')


def write_graph_def(graph_def, path, as_text=False):
  """Writes `graph_def` to `path` (binary, or text) atomically."""
  if as_text:
    fileio.write_atomic(path, text_format.MessageToString(graph_def))
  else:
    fileio.write_atomic(path, graph_def.SerializeToString(deterministic=True))
