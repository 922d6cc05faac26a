"""Safe, resumable downloads of dataset archives.

`download_file` streams a URL to `<file>.part` with a tqdm progress bar,
resumes an interrupted transfer with an HTTP Range request, retries transient
failures (connection errors, timeouts, dropped connections, HTTP 5xx/429)
with exponential backoff, checks the SHA-256 of the complete file and only
then renames it into place. A file that is already there and verifies is not
downloaded again. Every failure the user must act on is a `DatasetError`.

TensorFlow is not imported here.
"""
import hashlib
import os
import time

from absl import logging
import requests
import tqdm

from datasets.errors import DatasetError

# Bytes are saved a chunk at a time: a dropped connection loses at most one.
CHUNK_SIZE = 64 * 1024
# (connect, read) timeouts in seconds: a stalled server fails an attempt
# instead of hanging forever.
DEFAULT_TIMEOUT = (15.0, 60.0)
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF_SECONDS = 1.0
PARTIAL_SUFFIX = '.part'


class _TransientError(Exception):
  """An attempt failed in a way that a later attempt may not."""


def resolve_url(url, mirror=None):
  """Returns `url`, or the same file name under `mirror`.

  Args:
    url: the default URL of a file.
    mirror: None or '' to keep `url`; otherwise a URL prefix that replaces
      everything before the file name (with or without a trailing slash).

  Returns:
    The URL to download from.
  """
  if not mirror:
    return url
  return mirror.rstrip('/') + '/' + url.rsplit('/', 1)[-1]


def sha256_of(path, algorithm='sha256'):
  """Returns the hex digest of the file at `path` (SHA-256, or `algorithm`:
  'md5' for the files whose publisher records only that)."""
  digest = hashlib.new(algorithm)
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


# hashlib's names of the checksums a download may be checked against, and
# how messages name them.
_ALGORITHM_NAMES = {'sha256': 'SHA-256', 'md5': 'MD5'}


def _short_reason(exc):
  """Returns a short human description of a network exception."""
  if isinstance(exc, requests.Timeout):
    return 'the connection timed out'
  if isinstance(exc, requests.exceptions.ChunkedEncodingError):
    return 'the connection broke off mid-file'
  seen = set()
  stack = [exc]
  while stack:
    current = stack.pop()
    if current is None or id(current) in seen:
      continue
    seen.add(id(current))
    if isinstance(current, OSError) and current.strerror:
      return current.strerror.lower().rstrip('.')
    stack.extend([current.__cause__, current.__context__,
                  getattr(current, 'reason', None)])
    stack.extend(arg for arg in getattr(current, 'args', ())
                 if isinstance(arg, BaseException))
  text = str(exc)
  return text if len(text) < 200 else text[:200] + '...'


def _partial_size(path):
  return os.path.getsize(path) if os.path.exists(path) else 0


def _fetch_once(url, part_path, timeout, progress, desc):
  """One attempt: appends the rest of `url` to `part_path`.

  Returns normally once `part_path` holds the whole file.

  Raises:
    _TransientError: the attempt failed and may be retried (resuming).
    DatasetError: the server refused the file (4xx).
  """
  offset = _partial_size(part_path)
  # Identity encoding: a transparently gunzipped .gz would be the wrong bytes,
  # and byte ranges only make sense on the raw representation.
  headers = {'Accept-Encoding': 'identity'}
  if offset:
    headers['Range'] = 'bytes=%d-' % offset
  try:
    with requests.get(url, stream=True, timeout=timeout,
                      headers=headers) as response:
      status = response.status_code
      if status == 416 and offset:
        # Nothing left to send: either the partial file is complete, or it is
        # longer than the file (stale); the checksum decides.
        content_range = response.headers.get('Content-Range', '')
        total = content_range.rsplit('/', 1)[-1]
        if total.isdigit() and int(total) == offset:
          return
        os.remove(part_path)
        raise _TransientError('the server rejected the resume offset %d'
                              % offset)
      if status == 429 or status >= 500:
        raise _TransientError('HTTP %d %s' % (status, response.reason))
      if status >= 400:
        raise DatasetError(
            'download of %s failed: HTTP %d %s; check the URL or the --mirror '
            'flag' % (url, status, response.reason))
      if status == 206:
        start = response.headers.get('Content-Range', '')
        if not start.startswith('bytes %d-' % offset):
          os.remove(part_path)
          raise _TransientError('the server resumed at the wrong offset '
                                '(%r)' % start)
        mode = 'ab'
      else:
        # 200: the server ignored the Range header and sends everything.
        offset = 0
        mode = 'wb'
      length = response.headers.get('Content-Length')
      total = offset + int(length) if length and length.isdigit() else None
      with open(part_path, mode) as f, tqdm.tqdm(
          total=total, initial=offset, unit='B', unit_scale=True,
          unit_divisor=1024, desc=desc, disable=None if progress else True,
          leave=False) as bar:
        for chunk in response.iter_content(CHUNK_SIZE):
          f.write(chunk)
          bar.update(len(chunk))
  except (requests.ConnectionError, requests.Timeout,
          requests.exceptions.ChunkedEncodingError,
          requests.exceptions.ContentDecodingError) as e:
    raise _TransientError(_short_reason(e)) from e
  size = _partial_size(part_path)
  if total is not None and size != total:
    raise _TransientError('the connection closed after %d of %d bytes'
                          % (size, total))


_MISMATCH_ADVICE = ('Check --mirror, or pass --noverify_checksums to accept '
                    'it anyway')


def download_file(url, dest_dir, sha256=None, filename=None, mirror=None,
                  verify_checksums=True, retries=None, backoff_seconds=None,
                  timeout=DEFAULT_TIMEOUT, progress=True,
                  mismatch_advice=_MISMATCH_ADVICE, algorithm='sha256'):
  """Downloads `url` into `dest_dir` safely and returns the local path.

  Args:
    url: the default URL of the file.
    dest_dir: directory that receives the file (created if needed).
    sha256: expected hex SHA-256 of the file (its `algorithm` digest), or
      None if unknown.
    filename: local file name; defaults to the last part of `url`.
    mirror: optional URL prefix replacing everything before the file name.
    verify_checksums: if False, `sha256` is not checked (a warning is logged).
    retries: how many times a transient failure is retried, resuming (None:
      DEFAULT_RETRIES).
    backoff_seconds: first wait between attempts, doubled after each failure
      (None: DEFAULT_BACKOFF_SECONDS).
    timeout: (connect, read) timeouts in seconds for each attempt.
    progress: show a tqdm progress bar when stderr is a terminal.
    mismatch_advice: what the checksum mismatch error tells the user to do
      (the flags of the calling script).
    algorithm: what `sha256` is a digest of: 'sha256', or 'md5' for the
      files whose publisher records only an MD5 (Keras' weights).

  Returns:
    The path of the complete, verified file.

  Raises:
    DatasetError: the file could not be downloaded after all retries, the
      server refused it, or its checksum does not match.
  """
  retries = DEFAULT_RETRIES if retries is None else retries
  if retries < 0:
    raise DatasetError('--download_retries must be >= 0; received %d'
                       % retries)
  backoff_seconds = (DEFAULT_BACKOFF_SECONDS if backoff_seconds is None
                     else backoff_seconds)
  source = resolve_url(url, mirror)
  filename = filename or url.rsplit('/', 1)[-1]
  os.makedirs(dest_dir, exist_ok=True)
  dest = os.path.join(dest_dir, filename)
  check = verify_checksums and sha256 is not None
  if not verify_checksums:
    logging.warning('Not verifying the SHA-256 of %s (--noverify_checksums): '
                    'a corrupt or tampered file would not be detected.',
                    filename)

  if os.path.exists(dest):
    if not check:
      logging.info('Using the existing %s (not verified).', dest)
      return dest
    if sha256_of(dest, algorithm) == sha256:
      logging.info('%s is already there and verified; not downloading it.',
                   dest)
      return dest
    logging.warning('%s does not match its known %s; downloading it again.',
                    dest, _ALGORITHM_NAMES[algorithm])
    os.remove(dest)

  part = dest + PARTIAL_SUFFIX
  if os.path.exists(part):
    logging.info('Resuming %s from byte %d.', source, _partial_size(part))
  else:
    logging.info('Downloading %s', source)
  attempt = 0
  while True:
    try:
      _fetch_once(source, part, timeout, progress, filename)
      break
    except _TransientError as e:
      attempt += 1
      if attempt > retries:
        raise DatasetError(
            'could not download %s (%s) after %d attempts; check your network '
            'connection, or pass --mirror=URL to download from elsewhere; '
            'rerunning resumes the download' % (source, e, attempt)) from None
      wait = backoff_seconds * 2 ** (attempt - 1)
      logging.warning('Download of %s failed (%s); retry %d/%d in %.1f s.',
                      source, e, attempt, retries, wait)
      time.sleep(wait)

  if check:
    digest = sha256_of(part, algorithm)
    if digest != sha256:
      os.remove(part)
      name = _ALGORITHM_NAMES[algorithm]
      raise DatasetError(
          'checksum mismatch for %s: expected %s %s, received a file '
          'with %s %s; the file was deleted. %s'
          % (source, name, sha256, name, digest, mismatch_advice))
  os.replace(part, dest)
  return dest
