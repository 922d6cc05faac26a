"""Per-image work of the converters: reading, checking and encoding images.

These functions run in the writer's worker processes, so this module imports
only numpy and Pillow, never TensorFlow: a spawned worker starts in a fraction
of a second instead of paying TensorFlow's multi-second import. Each function
takes one picklable task and returns a picklable result (or a `Skipped`).
"""
import hashlib
import io
import typing

import numpy as np
from PIL import Image

# Formats kept byte for byte: TensorFlow's decoders read them as they are.
_KEPT_FORMATS = {'JPEG': (b'jpg', ('RGB', 'L')),
                 'PNG': (b'png', ('RGB', 'RGBA', 'L', 'LA', 'P', 'I;16', 'I'))}
_PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


class Skipped(typing.NamedTuple):
  """A task whose image could not be used, and why."""
  name: str
  reason: str


class EncodedImage(typing.NamedTuple):
  """An encoded image ready for a TF-Example."""
  data: bytes
  format: bytes
  height: int
  width: int
  label: int


def encode_png(array):
  """Returns the PNG encoding of a uint8 HxW, HxWx1 or HxWx3 array."""
  array = np.asarray(array, dtype=np.uint8)
  if array.ndim == 3 and array.shape[2] == 1:
    array = array[:, :, 0]
  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format='PNG')
  return buffer.getvalue()


def encode_jpeg(image, quality=100):
  """Returns the JPEG of an RGB PIL image (no chroma subsampling)."""
  buffer = io.BytesIO()
  image.save(buffer, format='JPEG', quality=quality, subsampling=0)
  return buffer.getvalue()


def cifar_record_to_png(task):
  """Encodes one CIFAR-10 binary record.

  Args:
    task: (record, ) where record is 3073 bytes: the label byte, then 1024
      red, 1024 green and 1024 blue bytes of a row-major 32x32 image.

  Returns:
    An `EncodedImage` with the PNG and the label.
  """
  record, = task
  label = record[0]
  image = np.frombuffer(record, np.uint8, 3072, 1).reshape(3, 32, 32)
  return EncodedImage(encode_png(image.transpose(1, 2, 0)), b'png', 32, 32,
                      label)


def gray_to_png(task):
  """Encodes one grayscale image given as raw bytes.

  Args:
    task: (pixels, height, width, label), pixels being height*width bytes.

  Returns:
    An `EncodedImage` with the PNG (one channel) and the label.
  """
  pixels, height, width, label = task
  image = np.frombuffer(pixels, np.uint8).reshape(height, width)
  return EncodedImage(encode_png(image), b'png', height, width, label)


def read_jpeg(task):
  """Reads a JPEG file as is, with its size from its header.

  Args:
    task: (path, label).

  Returns:
    An `EncodedImage` holding the original bytes and format b'jpg', or a
    `Skipped` if the file is not a readable JPEG.
  """
  path, label = task
  with open(path, 'rb') as f:
    data = f.read()
  try:
    with Image.open(io.BytesIO(data)) as image:
      if image.format != 'JPEG':
        return Skipped(path, 'is a %s file, not a JPEG' % image.format)
      width, height = image.size
  except Exception as e:  # pylint: disable=broad-except
    return Skipped(path, 'cannot be read (%s)' % e)
  return EncodedImage(data, b'jpg', height, width, label)


def read_any_image(task):
  """Reads any image Pillow decodes, for the custom-folder converter.

  The image is fully decoded, so truncated or corrupt files are caught here.
  RGB or grayscale JPEGs and PNGs are kept byte for byte; everything else
  (BMP, GIF, WebP, TIFF, CMYK JPEG, ...) is re-encoded as an RGB PNG, which
  TensorFlow's image decoders read.

  Args:
    task: (path, label).

  Returns:
    An `EncodedImage`, or a `Skipped` saying why the file was not usable.
  """
  path, label = task
  try:
    with open(path, 'rb') as f:
      data = f.read()
    with Image.open(io.BytesIO(data)) as image:
      image.load()
      width, height = image.size
      kept = _KEPT_FORMATS.get(image.format)
      if kept and image.mode in kept[1]:
        return EncodedImage(data, kept[0], height, width, label)
      rgb = image.convert('RGB')
  except Exception as e:  # pylint: disable=broad-except
    # Pillow signals bad input with many types (OSError, SyntaxError,
    # ValueError, DecompressionBombError, struct.error, ...).
    return Skipped(path, 'cannot be read as an image (%s: %s)'
                   % (type(e).__name__, e))
  if width == 0 or height == 0:
    return Skipped(path, 'is empty (%dx%d)' % (width, height))
  buffer = io.BytesIO()
  rgb.save(buffer, format='PNG')
  return EncodedImage(buffer.getvalue(), b'png', height, width, label)


def read_range(path, offset, size):
  """Returns `size` bytes of `path` starting at `offset`."""
  with open(path, 'rb') as f:
    f.seek(offset)
    data = f.read(size)
  if len(data) != size:
    raise ValueError('%s is shorter than expected (%d bytes at offset %d)'
                     % (path, size, offset))
  return data


def fix_imagenet_jpeg(data):
  """Returns (jpeg_bytes, height, width) of an ImageNet image, fixed up.

  As the original build_imagenet_data.py did, a PNG disguised as a JPEG and
  CMYK JPEGs are re-encoded as RGB JPEGs at quality 100; every other image is
  kept byte for byte. The original found those files by a hard-coded name
  list; here they are recognised by their content.

  Args:
    data: the bytes of a file named *.JPEG.

  Returns:
    A tuple (bytes, height, width).
  """
  with Image.open(io.BytesIO(data)) as image:
    width, height = image.size
    if data.startswith(_PNG_MAGIC) or image.mode not in ('RGB', 'L'):
      data = encode_jpeg(image.convert('RGB'))
  return data, height, width


def read_imagenet_image(task):
  """Reads and fixes up one ImageNet image stored at a byte range.

  Args:
    task: (path, offset, size, info): the image is `size` bytes at `offset`
      of the file `path` (a plain file, or a member of an uncompressed tar);
      `info` is passed through untouched.

  Returns:
    (jpeg_bytes, height, width, info), or a `Skipped` if the image cannot be
    read.
  """
  path, offset, size, info = task
  try:
    data, height, width = fix_imagenet_jpeg(read_range(path, offset, size))
  except Exception as e:  # pylint: disable=broad-except
    return Skipped('%s (in %s)' % (info[0], path), 'cannot be read as an image '
                   '(%s: %s)' % (type(e).__name__, e))
  return data, height, width, info


def read_file_with_key(task):
  """Reads a file whole and returns it with its SHA-256 hex digest.

  Args:
    task: (path, info); `info` is passed through untouched.

  Returns:
    (data, sha256_hex, info), or a `Skipped` if the file cannot be read.
  """
  path, info = task
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError as e:
    return Skipped(path, 'cannot be read (%s)' % e.strerror)
  return data, hashlib.sha256(data).hexdigest(), info
