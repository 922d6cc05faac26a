"""Reading and writing GraphDefs, binary or text, atomically."""
import os
import tempfile

import tensorflow as tf
from google.protobuf import text_format


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
  if not path or not os.path.isfile(path):
    raise ValueError(f'Graph file {path!r} does not exist.')
  with open(path, 'rb') as f:
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
  """Writes `graph_def` to `path` through a temp file and a rename."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-graph-')
  try:
    with os.fdopen(fd, 'wb') as f:
      if as_text:
        f.write(text_format.MessageToString(graph_def).encode('utf-8'))
      else:
        f.write(graph_def.SerializeToString())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise
