"""Labels files: one class name a line, for label_image.py and
classify_images.py --labels.

Two layouts are read: plain lines, line i naming class i (the published
models' `labels.txt`, whose 1001 ImageNet lines start with `background`),
and the slim `N:name` lines of a dataset's labels.txt. Blank lines are
skipped. Reading a local file needs no TensorFlow, so a bad file is
refused before it loads (a remote one, gs:// ..., is read through
tf.io.gfile).
"""
import io

from image_classifier import fileio


def read_labels(path):
  """{index: label}; `N:name` lines map N to name, plain lines by order.

  Raises:
    ValueError: if the file cannot be read or is not UTF-8 text.
  """
  labels = {}
  try:
    with io.TextIOWrapper(io.BytesIO(fileio.read_bytes(path)),
                          encoding='utf-8') as f:
      lines = [l.rstrip('\n') for l in f if l.strip()]
  except OSError as e:
    raise ValueError(f'--labels={path}: cannot read it '
                     f'({e.strerror or e}); pass a labels file, one label '
                     'a line.') from e
  except UnicodeDecodeError as e:
    raise ValueError(f'--labels={path} is not a UTF-8 text file; pass a '
                     'labels file, one label a line.') from e
  for index, line in enumerate(lines):
    key, sep, name = line.partition(':')
    if sep and key.strip().isdigit():
      labels[int(key)] = name
    else:
      labels[index] = line
  return labels


def class_labels(labels, num_classes, path):
  """The name of each of a model's classes: class i is label i.

  Args:
    labels: {index: label} from `read_labels`.
    num_classes: how many scores the model gives.
    path: the labels file, for messages.

  Returns:
    A list of num_classes names.

  Raises:
    ValueError: naming both counts if the file has another number of
      labels, or if its `N:name` numbers are not 0..num_classes - 1.
  """
  if len(labels) != num_classes:
    hint = ('; its class 0 is most likely `background`: the published '
            'ImageNet models take the 1001-line labels.txt that starts with '
            'it' if len(labels) == num_classes - 1 else
            '; pass the labels file that goes with the model')
    raise ValueError(f'--labels={path} has {len(labels)} labels but the '
                     f'model gives {num_classes} class scores{hint}.')
  missing = sorted(set(range(num_classes)) - set(labels))
  if missing:
    raise ValueError(f'--labels={path} numbers its labels '
                     f'{min(labels)}..{max(labels)} but the model\'s '
                     f'classes are 0..{num_classes - 1} (no label '
                     f'{missing[0]}); number them from 0.')
  return [labels[i] for i in range(num_classes)]
