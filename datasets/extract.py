"""Extraction of tar and zip archives that cannot write outside its target.

Every member is checked before anything is written: absolute paths, `..`
components, links whose target leaves the archive root, and device files or
FIFOs make the whole archive refused with a `DatasetError` (nothing is
extracted). Accepted archives are extracted into a temporary folder inside the
target (with tarfile's 'data' filter where Python has it, as a second guard)
and their top-level entries are then moved into place, so an interrupted
extraction leaves no half-written tree under the final names.

TensorFlow is not imported here.
"""
import gzip
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib

from datasets.errors import DatasetError

# What a truncated or corrupt archive raises (gzip.BadGzipFile is an OSError).
_CORRUPT_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError,
                   gzip.BadGzipFile, zlib.error)


def _unsafe_path_reason(name):
  """Returns why the archive path `name` is unsafe, or None if it is safe."""
  if not name:
    return 'has an empty name'
  normalized = name.replace('\\', '/')
  if normalized.startswith('/') or (len(name) > 1 and name[1] == ':'):
    return 'is an absolute path'
  if '..' in normalized.split('/'):
    return "contains a '..' component"
  return None


def _link_escapes(member_name, link_target, is_symlink):
  """Whether a link member resolves outside the archive root."""
  target = link_target.replace('\\', '/')
  if target.startswith('/') or (len(target) > 1 and target[1] == ':'):
    return True
  if is_symlink:
    # A symlink is relative to the folder holding it.
    base = posixpath.dirname(member_name.replace('\\', '/'))
    target = posixpath.join(base, target)
  resolved = posixpath.normpath(target)
  return resolved == '..' or resolved.startswith('../')


def check_tar_members(members):
  """Raises ValueError naming the first unsafe tar member.

  Args:
    members: `tarfile.TarInfo` objects.

  Raises:
    ValueError: a member is absolute, has '..', is a link leaving the
      archive, or is a device file or FIFO.
  """
  for member in members:
    reason = _unsafe_path_reason(member.name)
    if reason is None:
      if member.ischr() or member.isblk():
        reason = 'is a device file'
      elif member.isfifo():
        reason = 'is a FIFO'
      elif member.issym() or member.islnk():
        if _link_escapes(member.name, member.linkname, member.issym()):
          reason = 'is a link to %r, outside the archive' % member.linkname
      elif not (member.isfile() or member.isdir()):
        reason = 'has an unsupported type %r' % member.type
    if reason:
      raise ValueError('member %r %s' % (member.name, reason))


def check_zip_members(infos):
  """Raises ValueError naming the first unsafe zip member.

  Args:
    infos: `zipfile.ZipInfo` objects.

  Raises:
    ValueError: a member is absolute, has '..', or is a symbolic link (zip
      links are never materialized, so they are refused outright).
  """
  for info in infos:
    reason = _unsafe_path_reason(info.filename)
    if reason is None and stat.S_ISLNK(info.external_attr >> 16):
      reason = 'is a symbolic link'
    if reason:
      raise ValueError('member %r %s' % (info.filename, reason))


def _move_into_place(staging, target_dir):
  """Moves every top-level entry of `staging` into `target_dir`."""
  names = sorted(os.listdir(staging))
  for name in names:
    dest = os.path.join(target_dir, name)
    if os.path.isdir(dest) and not os.path.islink(dest):
      shutil.rmtree(dest)
    elif os.path.lexists(dest):
      os.remove(dest)
    os.replace(os.path.join(staging, name), dest)
  return names


def safe_extract(archive_path, target_dir):
  """Extracts a tar (any compression) or zip archive under `target_dir`.

  Args:
    archive_path: path of a .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz or .zip.
    target_dir: folder that receives the archive's top-level entries; an
      existing entry of the same name is replaced.

  Returns:
    The sorted names of the top-level entries extracted.

  Raises:
    DatasetError: the archive is unreadable or has an unsafe member; nothing
      is extracted in that case.
  """
  os.makedirs(target_dir, exist_ok=True)
  try:
    if zipfile.is_zipfile(archive_path):
      archive = zipfile.ZipFile(archive_path)
      check = lambda: check_zip_members(archive.infolist())
      extract = archive.extractall
    else:
      archive = tarfile.open(archive_path, 'r:*')
      check = lambda: check_tar_members(archive.getmembers())
      if hasattr(tarfile, 'data_filter'):
        extract = lambda path: archive.extractall(path, filter='data')
      else:  # Python < 3.10.12 / 3.11.4: our own checks stand alone.
        extract = archive.extractall
  except _CORRUPT_ERRORS as e:
    raise DatasetError('cannot read the archive %s (%s); delete it and '
                       'download it again' % (archive_path, e)) from None
  with archive:
    try:
      check()
    except ValueError as e:
      raise DatasetError('refusing to extract %s: %s; nothing was extracted'
                         % (archive_path, e)) from None
    except _CORRUPT_ERRORS as e:
      raise DatasetError('cannot read the archive %s (%s); delete it and '
                         'download it again' % (archive_path, e)) from None
    staging = tempfile.mkdtemp(prefix='.extract-', dir=target_dir)
    try:
      try:
        extract(staging)
      except _CORRUPT_ERRORS as e:
        raise DatasetError('cannot extract %s (%s); nothing was extracted'
                           % (archive_path, e)) from None
      return _move_into_place(staging, target_dir)
    finally:
      shutil.rmtree(staging, ignore_errors=True)
