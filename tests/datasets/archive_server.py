"""Test helpers: a local HTTP server for dataset archives, and archive makers.

`ArchiveServer` serves in-memory files on 127.0.0.1 with HTTP Range support,
logs every request, and can drop the connection half way through a file (the
first time it is requested) to exercise resumable downloads. The `server`
and `closed_port_url` pytest fixtures are imported by the test modules.
"""
import gzip
import hashlib
import http.server
import io
import socket
import struct
import tarfile
import threading

import numpy as np
from PIL import Image
import pytest


class ArchiveServer:
  """A threaded HTTP server of `files` (name -> bytes) on 127.0.0.1."""

  def __init__(self):
    self.files = {}
    self.requests = []  # (path, Range header or None)
    self.drop_once = set()  # Names whose first GET stops half way.
    self.ignore_range = False
    server = self

    class Handler(http.server.BaseHTTPRequestHandler):

      def log_message(self, *args):  # Quiet.
        pass

      def do_GET(self):  # pylint: disable=invalid-name
        name = self.path.lstrip('/')
        range_header = self.headers.get('Range')
        server.requests.append((name, range_header))
        data = server.files.get(name)
        if data is None:
          self.send_error(404)
          return
        start = 0
        if range_header and not server.ignore_range:
          start = int(range_header.split('=')[1].split('-')[0])
          if start >= len(data):
            self.send_response(416)
            self.send_header('Content-Range', 'bytes */%d' % len(data))
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
          self.send_response(206)
          self.send_header('Content-Range', 'bytes %d-%d/%d'
                           % (start, len(data) - 1, len(data)))
        else:
          self.send_response(200)
        body = data[start:]
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if name in server.drop_once:
          server.drop_once.discard(name)
          self.wfile.write(body[:len(body) // 2])
          self.wfile.flush()
          self.connection.shutdown(socket.SHUT_RDWR)
          self.close_connection = True
          return
        self.wfile.write(body)

    self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    self._thread = threading.Thread(target=self._httpd.serve_forever,
                                    daemon=True)
    self._thread.start()

  @property
  def url(self):
    return 'http://127.0.0.1:%d/' % self._httpd.server_address[1]

  def add(self, name, data):
    """Serves `data` as /name and returns its SHA-256."""
    self.files[name] = data
    return sha256(data)

  def requested(self, name):
    return [r for n, r in self.requests if n == name]

  def close(self):
    self._httpd.shutdown()
    self._httpd.server_close()


@pytest.fixture
def server():
  archive_server = ArchiveServer()
  yield archive_server
  archive_server.close()


@pytest.fixture
def closed_port_url():
  """A URL on 127.0.0.1 where nothing listens (connection refused)."""
  sock = socket.socket()
  sock.bind(('127.0.0.1', 0))
  port = sock.getsockname()[1]
  sock.close()
  return 'http://127.0.0.1:%d/' % port


def sha256(data):
  return hashlib.sha256(data).hexdigest()


def tar_bytes(entries, mode='w:gz'):
  """Returns a tar archive of `entries`.

  Args:
    entries: a dict name -> bytes or TarInfo, or a list, in archive order, of
      TarInfo and (name, bytes) pairs (a list may repeat a name).
    mode: tarfile's write mode (compression).
  """
  items = entries.items() if isinstance(entries, dict) else entries
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode=mode) as archive:
    for item in items:
      content = item if isinstance(item, tarfile.TarInfo) else item[1]
      if isinstance(content, tarfile.TarInfo):
        archive.addfile(content)
      else:
        info = tarfile.TarInfo(item[0])
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
  return buffer.getvalue()


def tar_link(name, target, kind=tarfile.SYMTYPE):
  """A symbolic (or, with kind=tarfile.LNKTYPE, hard) link member."""
  info = tarfile.TarInfo(name)
  info.type = kind
  info.linkname = target
  return info


def tar_dir(name):
  info = tarfile.TarInfo(name)
  info.type = tarfile.DIRTYPE
  info.mode = 0o755
  return info


# The CVE-2025-4517 construction: 16 folders of 247-character names, each
# beside a one-letter symlink to it, so that 'a/b/.../p' is short but
# resolves to a path longer than PATH_MAX (4096), where os.path.realpath
# stops resolving and goes on lexically.
_LONG_NAME = 'd' * 247
_STEPS = 'abcdefghijklmnop'
# A link in 'a/b/.../p' back up to the archive root: 16 levels of '..'.
PATH_MAX_LINK = '/'.join(_STEPS) + '/' + 'l' * 254


def path_max_escape_members(climb, payload_name, payload=b'pwned'):
  """The members of an archive that writes `climb` folders above its root.

  'escape' links to PATH_MAX_LINK + '/..' * climb: lexically (and to
  realpath) a folder inside the archive, really `climb` levels above its
  root; then `escape/<payload_name>` is written through it.

  Returns:
    A list for `tar_bytes`.
  """
  members = []
  folder = ''
  for step in _STEPS:
    members.append(tar_dir(folder + _LONG_NAME))
    members.append(tar_link(folder + step, _LONG_NAME))
    folder += _LONG_NAME + '/'
  members.append(tar_link(PATH_MAX_LINK, '../' * len(_STEPS)))
  members.append(tar_link('escape', PATH_MAX_LINK + '/..' * climb))
  members.append(('escape/' + payload_name, payload))
  return members


def random_image(rng, height, width, channels=3):
  shape = (height, width) if channels == 1 else (height, width, channels)
  return rng.integers(0, 256, size=shape, dtype=np.uint8)


def encode(array, image_format, **kwargs):
  buffer = io.BytesIO()
  Image.fromarray(array).save(buffer, format=image_format, **kwargs)
  return buffer.getvalue()


def idx_gz(array, magic):
  """Returns a gzipped IDX file (big-endian header) of a uint8 array."""
  header = struct.pack('>i', magic) + b''.join(
      struct.pack('>i', dim) for dim in array.shape)
  return gzip.compress(header + array.astype(np.uint8).tobytes())


def read_records(path):
  """Returns the parsed `tf.train.Example`s of a TFRecord file."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return [tf.train.Example.FromString(record.numpy())
          for record in tf.data.TFRecordDataset(path)]


def feature(example, key):
  """Returns the value list of feature `key` of an Example."""
  value = example.features.feature[key]
  kind = value.WhichOneof('kind')
  return list(getattr(value, kind).value) if kind else []


def decode(example, channels=0):
  """Returns the pixels of an Example's image/encoded, decoded by TensorFlow."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  data = feature(example, 'image/encoded')[0]
  return tf.io.decode_image(data, channels=channels).numpy()
