"""Per-image work of the converters: reading, checking and encoding images.

These functions run in the writer's worker processes, so this module imports
only numpy and Pillow, never TensorFlow: a spawned worker starts in a fraction
of a second instead of paying TensorFlow's multi-second import. Each function
takes one picklable task and returns a picklable result (or a `Skipped`).

It is also the one place that decides whether a user's image file may be
decoded at all, for the converters and for label_image.py and
classify_images.py alike: `read_regular_file` opens nothing but regular
files (no FIFO, device or socket; `file_problem` says what a path is without
opening it) on a local disk, and reads any other path (gs://, s3://, ...)
through tf.io.gfile, and `open_image` / `check_image_header` refuse, from the header
alone, an image of more than `--max_image_pixels` pixels.
"""
import contextlib
import errno
import hashlib
import io
import os
import stat
import typing

import numpy as np
from PIL import Image

from image_classifier import fileio

# Formats kept byte for byte: TensorFlow's decoders read them as they are.
_KEPT_FORMATS = {'JPEG': (b'jpg', ('RGB', 'L')),
                 'PNG': (b'png', ('RGB', 'RGBA', 'L', 'LA', 'P', 'I;16', 'I'))}
_PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
# JPEG frame types kept byte for byte: Huffman-coded 8-bit baseline (SOF0),
# extended sequential (SOF1) and progressive (SOF2), which every libjpeg
# reads. Lossless, hierarchical and arithmetic-coded JPEGs are re-encoded.
_KEPT_JPEG_FRAMES = (0xC0, 0xC1, 0xC2)

# The pixel limit of every path that decodes a user's image, checked from the
# image's header before any pixel is decoded: Pillow's own default
# (Image.MAX_IMAGE_PIXELS), about 9459x9459, or 256 MiB of RGB pixels.
DEFAULT_MAX_IMAGE_PIXELS = 89_478_485
MAX_IMAGE_PIXELS_FLAG = '--max_image_pixels'
# Smaller images are refused by the custom-folder converter: 1x1 tracking
# pixels, spacers and icons carry nothing to learn.
DEFAULT_MIN_IMAGE_SIDE = 8
MIN_IMAGE_SIDE_FLAG = '--min_image_side'


class UnusableImage(ValueError):
  """An image file refused before it was decoded; the message says why."""


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


def pixel_limit_problem(width, height,
                        max_pixels=DEFAULT_MAX_IMAGE_PIXELS):
  """Why an image of `width` x `height` is too large, or None if it is not.

  Args:
    width: the image width from its header.
    height: the image height from its header.
    max_pixels: the largest width * height accepted.

  Returns:
    One clause naming the size, the limit and the flag that raises it, or
    None.
  """
  pixels = width * height
  if pixels <= max_pixels:
    return None
  return ('%dx%d = %s pixels is over the limit of %s pixels; pass %s=%d to '
          'read it if you trust the file' % (
              width, height, format(pixels, ','), format(max_pixels, ','),
              MAX_IMAGE_PIXELS_FLAG, pixels))


@contextlib.contextmanager
def _pillow_pixel_limit_off():
  """Switches Pillow's own decompression-bomb check off inside.

  `open_image` checks the size itself, against a limit the user can raise
  (Pillow's would still refuse twice its default).
  """
  saved = Image.MAX_IMAGE_PIXELS
  Image.MAX_IMAGE_PIXELS = None
  try:
    yield
  finally:
    Image.MAX_IMAGE_PIXELS = saved


def open_image(data, max_pixels=DEFAULT_MAX_IMAGE_PIXELS):
  """Opens encoded image bytes, reading only the header, and checks the size.

  Every path that decodes a user's image calls this before decoding, so an
  image whose header claims more than `max_pixels` pixels is refused before
  any memory is spent on its pixels.

  Args:
    data: the encoded bytes.
    max_pixels: the largest width * height accepted.

  Returns:
    A PIL image whose pixels are not decoded yet (use it in a `with`).

  Raises:
    UnusableImage: the bytes are not an image Pillow knows, its header is
      broken, or it has too many pixels.
  """
  try:
    with _pillow_pixel_limit_off():
      image = Image.open(io.BytesIO(data))
  except Image.UnidentifiedImageError:
    raise UnusableImage('Unknown image file format') from None
  except Exception as e:  # pylint: disable=broad-except
    # Pillow signals bad input with many types (OSError, SyntaxError,
    # ValueError, struct.error, ...).
    raise UnusableImage('cannot be read as an image (%s: %s)'
                        % (type(e).__name__, e)) from None
  problem = pixel_limit_problem(image.size[0], image.size[1], max_pixels)
  if problem:
    image.close()
    raise UnusableImage(problem)
  return image


def check_image_header(data, max_pixels=DEFAULT_MAX_IMAGE_PIXELS):
  """Checks encoded image bytes from their header alone; decodes nothing.

  Args:
    data: the encoded bytes.
    max_pixels: the largest width * height accepted.

  Returns:
    (width, height).

  Raises:
    UnusableImage: as `open_image`.
  """
  with open_image(data, max_pixels) as image:
    return image.size


_FILE_KINDS = ((stat.S_ISFIFO, 'FIFO (named pipe)'), (stat.S_ISSOCK, 'socket'),
               (stat.S_ISCHR, 'character device'),
               (stat.S_ISBLK, 'block device'), (stat.S_ISDIR, 'folder'))


def file_problem(path):
  """Why `path` is not a regular file to read, or None; opens nothing.

  Symlinks to regular files are fine; a symlink loop, a dangling symlink, a
  FIFO, a socket or a device is not.

  Args:
    path: the file path.

  Returns:
    One clause saying what the path is, or None for a regular file.
  """
  try:
    mode = os.stat(path).st_mode
  except OSError as e:
    if e.errno == errno.ELOOP:
      return 'is a symlink loop'
    if e.errno == errno.ENOENT and os.path.islink(path):
      return 'is a dangling symlink (to %s)' % os.readlink(path)
    return 'cannot be read (%s)' % (e.strerror or e)
  if stat.S_ISREG(mode):
    return None
  kind = next((name for test, name in _FILE_KINDS if test(mode)),
              'special file')
  return 'is a %s, not a regular file' % kind


def read_regular_file(path):
  """Returns the bytes of `path`, refusing anything but a regular file.

  A local file is checked before it is opened, then opened without
  blocking and checked again, so a FIFO put in its place meanwhile cannot
  hang the read. Any other path is an object read through tf.io.gfile.

  Args:
    path: the file path.

  Returns:
    The file's bytes.

  Raises:
    UnusableImage: `path` is not a readable regular file.
  """
  if not fileio.is_local(path):
    return _read_object(path)
  problem = file_problem(path)
  if problem:
    raise UnusableImage(problem)
  try:
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
  except OSError as e:
    raise UnusableImage('cannot be read (%s)' % (e.strerror or e)) from None
  with os.fdopen(fd, 'rb') as f:
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
      raise UnusableImage('is not a regular file')
    return f.read()


def _read_object(path):
  """The bytes of `path` on a filesystem of tf.io.gfile (gs://, ...).

  TensorFlow is imported only then (`fileio.gfile`): the converters'
  worker processes reading local files stay light.
  """
  try:
    with fileio.os_errors(path):
      if fileio.gfile().isdir(path):
        raise UnusableImage('is a folder, not a regular file')
    return fileio.read_bytes(path)
  except OSError as e:
    raise UnusableImage('cannot be read (%s)' % (e.strerror or e)) from None


def jpeg_frame_type(data):
  """The start-of-frame marker (0xC0-0xCF) of JPEG bytes, or None.

  Walks the marker segments up to the first frame header: 0xC0 baseline,
  0xC1 extended, 0xC2 progressive, 0xC3 lossless, 0xC9-0xCB arithmetic...
  """
  index = 2
  while index + 4 <= len(data):
    if data[index] != 0xFF:
      return None
    marker = data[index + 1]
    if marker == 0xFF:  # Fill byte.
      index += 1
    elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
      return marker
    elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # No length.
      index += 2
    elif marker in (0xD9, 0xDA):  # End of image, or a scan: no frame.
      return None
    else:
      index += 2 + int.from_bytes(data[index + 2:index + 4], 'big')
  return None


def _kept_format(image, data):
  """The TF-Example format of an image kept byte for byte, or None.

  Only images that TensorFlow's decoders (`tf.io.decode_jpeg`/
  `decode_image`, as the input pipeline uses them) read are kept.
  """
  kept = _KEPT_FORMATS.get(image.format)
  if not kept or image.mode not in kept[1]:
    return None
  if image.format == 'JPEG' and (jpeg_frame_type(data)
                                 not in _KEPT_JPEG_FRAMES):
    return None
  return kept[0]


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


def read_any_image(task, max_pixels=DEFAULT_MAX_IMAGE_PIXELS,
                   min_side=DEFAULT_MIN_IMAGE_SIDE):
  """Reads any image Pillow decodes, for the custom-folder converter.

  Only regular files are opened. The size is checked from the header first
  (at most `max_pixels` pixels, each side at least `min_side`); then the
  image is fully decoded, so truncated or corrupt files are caught here.
  RGB or grayscale JPEGs (Huffman-coded, 8-bit) and PNGs are kept byte for
  byte; everything else (BMP, GIF, WebP, TIFF, CMYK or lossless JPEG, ...)
  is re-encoded as an RGB PNG, which TensorFlow's image decoders read.

  Args:
    task: (path, label).
    max_pixels: the largest width * height accepted.
    min_side: the smallest width or height accepted.

  Returns:
    An `EncodedImage`, or a `Skipped` saying why the file was not usable.
  """
  path, label = task
  try:
    data = read_regular_file(path)
    with open_image(data, max_pixels) as image:
      width, height = image.size
      problem = _side_problem(width, height, min_side)
      if problem:
        return Skipped(path, problem)
      image.load()
      kept_format = _kept_format(image, data)
      if kept_format:
        return EncodedImage(data, kept_format, height, width, label)
      rgb = image.convert('RGB')
  except UnusableImage as e:
    return Skipped(path, str(e))
  except Exception as e:  # pylint: disable=broad-except
    # Pillow signals bad input with many types (OSError, SyntaxError,
    # ValueError, struct.error, ...).
    return Skipped(path, 'cannot be read as an image (%s: %s)'
                   % (type(e).__name__, e))
  buffer = io.BytesIO()
  rgb.save(buffer, format='PNG')
  return EncodedImage(buffer.getvalue(), b'png', height, width, label)


def _side_problem(width, height, min_side):
  """Why an image is too small for the converter, or None."""
  if width == 0 or height == 0:
    return 'is empty (%dx%d)' % (width, height)
  if min(width, height) < min_side:
    return ('is %dx%d, smaller than %d pixels on a side; pass %s=%d to keep '
            'it' % (width, height, min_side, MIN_IMAGE_SIDE_FLAG,
                    min(width, height)))
  return None


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
