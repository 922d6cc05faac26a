"""Extraction of tar and zip archives that cannot write outside its target.

Every member is checked before anything is written, against an in-memory
model of what the archive creates (folders, files, symbolic links and their
targets), never against the file system and never with `os.path.realpath`
(which stops resolving past PATH_MAX: CVE-2025-4517 fools tarfile's own
'data' filter that way with a chain of long folder names and symlinks).
The whole archive is refused with a `DatasetError` naming the member, and
nothing is extracted, when a member:

- has an absolute path, a `..` component or a backslash (a separator on
  Windows only, so the model could not know where it lands), or names the
  archive root;
- lies inside a path the archive made a symbolic link (writing through a
  link is how a link that looks harmless becomes an escape) or a file;
- replaces an earlier member of another kind, or an earlier symbolic link;
- is a symbolic link whose target, followed component by component from
  the link's folder, leaves the archive root, climbs out of anything but a
  folder the archive creates, or names (or passes through) a symbolic link
  of the archive: every link then points at a real path inside the root;
- is a hard link to anything but an earlier regular file of the archive
  (named exactly);
- is a device file, a FIFO or another special member (zip symbolic links
  included: zipfile would write them as files).

Paths are compared case-folded and Unicode-normalized, so a case-insensitive
file system cannot merge a link with a folder the model keeps apart.
Accepted archives are extracted into a temporary folder inside the target
(with tarfile's 'data' filter where Python has it, as a second guard) and
their top-level entries are then moved into place, so an interrupted
extraction leaves no half-written tree under the final names.

TensorFlow is not imported here.
"""
import collections
import gzip
import os
import shutil
import stat
import tarfile
import tempfile
import unicodedata
import zipfile
import zlib

from datasets.errors import DatasetError

# What a truncated or corrupt archive raises (gzip.BadGzipFile is an OSError).
_CORRUPT_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError,
                   gzip.BadGzipFile, zlib.error)

# Member kinds.
DIR = 'folder'
FILE = 'file'
SYMLINK = 'symbolic link'
HARDLINK = 'hard link'

# One archive member: its name, kind (DIR, FILE, SYMLINK, HARDLINK or the
# description of a kind that is never extracted) and, for links, the target.
Member = collections.namedtuple('Member', ['name', 'kind', 'link_target'])


def _shown(name, limit=80):
  """`name` quoted for a one-line message, its middle elided if long."""
  if len(name) > limit:
    name = name[:limit // 2] + '...' + name[-limit // 4:]
  return repr(name)


def _is_absolute(path):
  """Absolute on POSIX or Windows ('/x', '\\x', 'C:x')."""
  return path.startswith(('/', '\\')) or (len(path) > 1 and path[1] == ':')


def _components(name):
  """The components of archive path `name`, without '' and '.'.

  Raises:
    ValueError: `name` is empty, absolute, has a '..' component or a
      backslash.
  """
  if not name:
    raise ValueError('has an empty name')
  if _is_absolute(name):
    raise ValueError('is an absolute path')
  if '\\' in name:
    raise ValueError('contains a backslash')
  parts = [part for part in name.split('/') if part not in ('', '.')]
  if '..' in parts:
    raise ValueError("contains a '..' component")
  return tuple(parts)


def _key(components):
  """The model's key of a path: how a case-insensitive, Unicode-normalizing
  file system might see it (an overlap only ever refuses more)."""
  return tuple(unicodedata.normalize('NFC', part).casefold()
               for part in components)


class _ArchiveModel:
  """What an archive creates, member by member, resolved by hand.

  `add` checks each member's path against what earlier members created;
  `check_symlinks` then checks every symbolic link against the whole
  archive (a link may name a path that a later member creates).
  """

  def __init__(self):
    self._kinds = {(): DIR}  # _key(path) -> DIR, FILE or SYMLINK.
    self._files = set()  # The exact components of every file.
    self._symlinks = []  # (member name, components of its folder, target)

  def add(self, member):
    """Records `member`; raises ValueError (without the member's name)."""
    parts = _components(member.name)
    if member.kind not in (DIR, FILE, SYMLINK, HARDLINK):
      raise ValueError('is a %s' % member.kind)
    if not parts:
      if member.kind == DIR:
        return  # './': the root itself.
      raise ValueError('names the archive root')
    self._enter_folders(parts)
    kind = member.kind
    if kind == HARDLINK:
      self._check_hardlink(member.link_target)
      kind = FILE  # A hard link is one more name of a file.
    key = _key(parts)
    earlier = self._kinds.get(key)
    if earlier == SYMLINK:
      raise ValueError('replaces the symbolic link of the same name '
                       '(it would be written through)')
    if earlier is not None and earlier != kind:
      raise ValueError('is a %s where an earlier member made a %s'
                       % (kind, earlier))
    if kind == SYMLINK:
      self._symlinks.append((member.name, parts[:-1], member.link_target))
    elif kind == FILE:
      self._files.add(parts)
    self._kinds[key] = kind

  def _enter_folders(self, parts):
    """Checks that every folder above `parts` is one; creates missing ones,
    as extraction does."""
    for depth in range(1, len(parts)):
      key = _key(parts[:depth])
      kind = self._kinds.get(key)
      if kind == SYMLINK:
        raise ValueError('goes through the symbolic link %s'
                         % _shown('/'.join(parts[:depth])))
      if kind == FILE:
        raise ValueError('is inside %s, which is a file'
                         % _shown('/'.join(parts[:depth])))
      self._kinds[key] = DIR

  def _check_hardlink(self, target):
    """A hard link's target (relative to the root) must be an earlier file."""
    try:
      parts = _components(target or '')
    except ValueError as e:
      raise ValueError('is a hard link to %s, not a path inside the archive '
                       '(it %s)' % (_shown(target or ''), e)) from None
    if parts not in self._files:
      raise ValueError('is a hard link to %s, which is not an earlier file '
                       'of the archive' % _shown(target))

  def check_symlinks(self):
    """Raises ValueError naming the first symbolic link that could point
    outside the root or through another link."""
    for name, folder, target in self._symlinks:
      reason = self._symlink_problem(folder, target)
      if reason:
        raise ValueError('member %s is a link to %s%s'
                         % (_shown(name), _shown(target or ''), reason))

  def _symlink_problem(self, folder, target):
    """Why the link in `folder` to `target` is unsafe, or None."""
    if not target:
      return ', an empty target'
    if _is_absolute(target):
      return ', outside the archive'
    if '\\' in target:
      return ', a target with a backslash'
    resolved = list(folder)
    for part in target.split('/'):
      if part in ('', '.'):
        continue
      if part == '..':
        if not resolved:
          return ', outside the archive'
        if self._kinds.get(_key(resolved)) != DIR:
          return (', which climbs out of %s, not a folder of the archive'
                  % _shown('/'.join(resolved)))
        resolved.pop()
        continue
      resolved.append(part)
      if self._kinds.get(_key(resolved)) == SYMLINK:
        return (', which goes through the symbolic link %s (links to links '
                'are refused)' % _shown('/'.join(resolved)))
    return None


def check_members(members):
  """Raises ValueError naming the first unsafe member of an archive.

  Args:
    members: `Member`s in archive order (`tar_members`, `zip_members`).

  Raises:
    ValueError: a member could write outside the archive root (see the
      module docstring for the rules).
  """
  model = _ArchiveModel()
  for member in members:
    try:
      model.add(member)
    except ValueError as e:
      raise ValueError('member %s %s' % (_shown(member.name), e)) from None
  model.check_symlinks()


def _tar_kind(info):
  """The `Member` kind of a `tarfile.TarInfo`."""
  if info.isdir():
    return DIR
  if info.isfile():
    return FILE
  if info.issym():
    return SYMLINK
  if info.islnk():
    return HARDLINK
  if info.ischr() or info.isblk():
    return 'device file'
  if info.isfifo():
    return 'FIFO'
  return 'member of unsupported type %r' % info.type


def tar_members(infos):
  """The `Member`s of `tarfile.TarInfo` objects."""
  return [Member(info.name, _tar_kind(info),
                 info.linkname if (info.issym() or info.islnk()) else None)
          for info in infos]


def zip_members(infos):
  """The `Member`s of `zipfile.ZipInfo` objects.

  zipfile never creates links: a zip symbolic link would be written as a
  file holding its target, so it is refused as a kind of its own.
  """
  members = []
  for info in infos:
    if stat.S_ISLNK(info.external_attr >> 16):
      kind = 'symbolic link (zip links are not extracted)'
    else:
      kind = DIR if info.is_dir() else FILE
    members.append(Member(info.filename, kind, None))
  return members


def check_tar_members(infos):
  """Raises ValueError naming the first unsafe `tarfile.TarInfo`."""
  check_members(tar_members(infos))


def check_zip_members(infos):
  """Raises ValueError naming the first unsafe `zipfile.ZipInfo`."""
  check_members(zip_members(infos))


def _move_into_place(staging, target_dir, keep):
  """Moves the top-level entries of `staging` that `keep` accepts into
  `target_dir`, replacing entries of the same name; returns their names."""
  names = sorted(name for name in os.listdir(staging)
                 if keep is None or keep(name))
  for name in names:
    dest = os.path.join(target_dir, name)
    if os.path.isdir(dest) and not os.path.islink(dest):
      shutil.rmtree(dest)
    elif os.path.lexists(dest):
      os.remove(dest)
    os.replace(os.path.join(staging, name), dest)
  return names


def _open(archive_path):
  """Returns (archive, its `Member`s, fn(path) extracting it all)."""
  if zipfile.is_zipfile(archive_path):
    archive = zipfile.ZipFile(archive_path)
    return archive, zip_members(archive.infolist()), archive.extractall
  archive = tarfile.open(archive_path, 'r:*')
  try:
    members = tar_members(archive.getmembers())
  except BaseException:
    archive.close()
    raise
  if hasattr(tarfile, 'data_filter'):
    return archive, members, lambda path: archive.extractall(path,
                                                             filter='data')
  # Python < 3.10.12 / 3.11.4: our own checks stand alone.
  return archive, members, archive.extractall


def safe_extract(archive_path, target_dir, check=None, keep=None):
  """Extracts a tar (any compression) or zip archive under `target_dir`.

  Args:
    archive_path: path of a .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz or .zip.
    target_dir: folder that receives the archive's top-level entries; an
      existing entry of the same name is replaced.
    check: optional fn(members) that raises ValueError to refuse an archive
      whose members (`Member`s, already found safe) are not what the caller
      expects.
    keep: optional fn(top-level name) -> whether that entry is moved into
      `target_dir`; the others are discarded. None keeps them all.

  Returns:
    The sorted names of the top-level entries extracted.

  Raises:
    DatasetError: the archive is unreadable, has an unsafe member or is
      refused by `check`; nothing is extracted in that case.
  """
  os.makedirs(target_dir, exist_ok=True)
  try:
    archive, members, extract_all = _open(archive_path)
  except _CORRUPT_ERRORS as e:
    raise DatasetError('cannot read the archive %s (%s); delete it and '
                       'download it again' % (archive_path, e)) from None
  with archive:
    try:
      check_members(members)
      if check is not None:
        check(members)
    except ValueError as e:
      raise DatasetError('refusing to extract %s: %s; nothing was extracted'
                         % (archive_path, e)) from None
    staging = tempfile.mkdtemp(prefix='.extract-', dir=target_dir)
    try:
      try:
        extract_all(staging)
      except _CORRUPT_ERRORS as e:
        raise DatasetError('cannot extract %s (%s); nothing was extracted'
                           % (archive_path, e)) from None
      return _move_into_place(staging, target_dir, keep)
    finally:
      shutil.rmtree(staging, ignore_errors=True)
