"""Tests of datasets/extract.py: safe extraction of tar and zip archives."""
import io
import os
import posixpath
import stat
import tarfile
import zipfile

import pytest

from tests.datasets.archive_server import path_max_escape_members
from tests.datasets.archive_server import tar_bytes
from tests.datasets.archive_server import tar_dir
from tests.datasets.archive_server import tar_link
from datasets import extract
from datasets.errors import DatasetError


def _write(tmp_path, data, name='archive.tgz'):
  path = tmp_path / name
  path.write_bytes(data)
  return str(path)


_link = tar_link


def _tree(root):
  """{relative path: file bytes, 'folder' or 'link -> target'} under
  `root`, links not followed."""
  tree = {}
  for folder, dirs, files in os.walk(root):
    for name in dirs + files:
      path = os.path.join(folder, name)
      relative = os.path.relpath(path, root)
      if os.path.islink(path):
        tree[relative] = 'link -> ' + os.readlink(path)
      elif os.path.isdir(path):
        tree[relative] = 'folder'
      else:
        with open(path, 'rb') as f:
          tree[relative] = f.read()
  return tree


def _assert_refused(archive, target, *fragments, **kwargs):
  """Asserts that extracting `archive` into `target` (an empty folder,
  safe_extract's `kwargs`) is refused with one line holding `fragments`,
  and writes nothing."""
  with pytest.raises(DatasetError) as info:
    extract.safe_extract(archive, str(target), **kwargs)
  message = str(info.value)
  assert '\n' not in message
  assert 'nothing was extracted' in message
  for fragment in fragments:
    assert fragment in message, message
  assert os.listdir(target) == []
  return message


def _special(name, kind):
  info = tarfile.TarInfo(name)
  info.type = kind
  return info


def test_extracts_members_and_leaves_no_staging_folder(tmp_path):
  archive = _write(tmp_path, tar_bytes({
      'top/a.txt': b'alpha', 'top/sub/b.bin': b'\x00\x01', 'c.txt': b'gamma',
      'top/link': _link('top/link', 'a.txt')}))
  target = tmp_path / 'out'
  names = extract.safe_extract(archive, str(target))
  assert names == ['c.txt', 'top']
  assert (target / 'top' / 'a.txt').read_bytes() == b'alpha'
  assert (target / 'top' / 'sub' / 'b.bin').read_bytes() == b'\x00\x01'
  assert (target / 'top' / 'link').read_bytes() == b'alpha'
  assert sorted(os.listdir(target)) == ['c.txt', 'top']


def test_replaces_an_earlier_extraction(tmp_path):
  target = tmp_path / 'out'
  (target / 'top').mkdir(parents=True)
  (target / 'top' / 'stale.txt').write_bytes(b'old')
  archive = _write(tmp_path, tar_bytes({'top/a.txt': b'new'}))
  extract.safe_extract(archive, str(target))
  assert os.listdir(target / 'top') == ['a.txt']


@pytest.mark.parametrize('member, reason', [
    ('../evil.txt', "'..'"),
    ('top/../../evil.txt', "'..'"),
    (None, 'absolute path'),  # Filled in with an absolute path below.
])
def test_refuses_paths_leaving_the_target(tmp_path, member, reason):
  outside = tmp_path / 'evil.txt'
  if member is None:
    member = str(outside)
  archive = _write(tmp_path, tar_bytes({'ok.txt': b'fine', member: b'pwned'}))
  target = tmp_path / 'deep' / 'out'
  with pytest.raises(DatasetError) as info:
    extract.safe_extract(archive, str(target))
  assert reason in str(info.value)
  assert 'nothing was extracted' in str(info.value)
  assert not outside.exists()
  assert not (tmp_path / 'deep' / 'evil.txt').exists()
  assert os.listdir(target) == []  # Not even the safe member.


@pytest.mark.parametrize('link', [
    _link('top/escape', '../../outside'),
    _link('top/escape', '/etc/passwd'),
    _link('top/hard', '../outside', tarfile.LNKTYPE),
])
def test_refuses_links_pointing_outside(tmp_path, link):
  archive = _write(tmp_path, tar_bytes({'top/a.txt': b'a', link.name: link}))
  target = tmp_path / 'out'
  with pytest.raises(DatasetError,
                     match='outside the archive|not a path inside'):
    extract.safe_extract(archive, str(target))
  assert os.listdir(target) == []


@pytest.mark.parametrize('kind, reason', [
    (tarfile.CHRTYPE, 'device file'),
    (tarfile.BLKTYPE, 'device file'),
    (tarfile.FIFOTYPE, 'FIFO'),
])
def test_refuses_device_files(tmp_path, kind, reason):
  archive = _write(tmp_path, tar_bytes({'dev': _special('dev', kind)}))
  with pytest.raises(DatasetError, match=reason):
    extract.safe_extract(archive, str(tmp_path / 'out'))


def test_zip_archives_are_checked_too(tmp_path):
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as archive:
    archive.writestr('good/a.txt', b'a')
  path = _write(tmp_path, buffer.getvalue(), 'good.zip')
  extract.safe_extract(path, str(tmp_path / 'out'))
  assert (tmp_path / 'out' / 'good' / 'a.txt').read_bytes() == b'a'

  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as archive:
    archive.writestr('../evil.txt', b'pwned')
  path = _write(tmp_path, buffer.getvalue(), 'evil.zip')
  with pytest.raises(DatasetError, match="'..'"):
    extract.safe_extract(path, str(tmp_path / 'zout'))
  assert not (tmp_path / 'evil.txt').exists()


def test_corrupt_archive_is_a_clear_error(tmp_path):
  data = tar_bytes({'a.txt': b'x' * 10000})
  path = _write(tmp_path, data[:len(data) // 2])
  with pytest.raises(DatasetError, match='download it again'):
    extract.safe_extract(path, str(tmp_path / 'out'))


@pytest.mark.parametrize('mode', ['w', 'w:gz', 'w:bz2', 'w:xz'])
def test_refuses_the_path_max_symlink_chain(tmp_path, mode):
  """CVE-2025-4517: links whose resolution passes PATH_MAX, where
  os.path.realpath (and tarfile's 'data' filter with it) stops resolving."""
  members = path_max_escape_members(climb=2, payload_name='pwned.txt')
  assert len(members) == 35
  escape = [m for m in members if getattr(m, 'name', '') == 'escape'][0]
  # Lexically the escape link stays inside: a check on the joined,
  # normalized target alone would accept it.
  lexical = posixpath.normpath(escape.linkname)
  assert not lexical.startswith('..') and not os.path.isabs(lexical)
  archive = _write(tmp_path, tar_bytes(members, mode), 'cve.tar')
  # Extraction stages in <target>/.extract-*; two levels up is tmp_path.
  target = tmp_path / 'out'
  target.mkdir()
  before = _tree(tmp_path)
  message = _assert_refused(
      archive, target, 'goes through the symbolic link', 'a/b/c/d')
  assert _tree(tmp_path) == before
  assert not (tmp_path / 'pwned.txt').exists()
  assert len(message) < 300  # The 254-character names are shortened.


def test_extracts_links_that_stay_inside(tmp_path):
  archive = _write(tmp_path, tar_bytes([
      tar_dir('top'), ('top/a.txt', b'alpha'), ('top/sub/b.txt', b'beta'),
      tar_link('top/sub/up', '../a.txt'),
      tar_link('top/to_sub', 'sub'),
      tar_link('top/./dot', './sub/./b.txt'),
      tar_link('root_link', 'top/a.txt'),
      tar_link('top/hard', 'top/a.txt', tarfile.LNKTYPE),
      tar_link('top/dangling', 'missing.txt'),
  ]))
  target = tmp_path / 'out'
  assert extract.safe_extract(archive, str(target)) == ['root_link', 'top']
  top = target / 'top'
  assert (top / 'sub' / 'up').read_bytes() == b'alpha'
  assert (top / 'to_sub' / 'b.txt').read_bytes() == b'beta'
  assert (top / 'dot').read_bytes() == b'beta'
  assert (target / 'root_link').read_bytes() == b'alpha'
  assert (top / 'hard').read_bytes() == b'alpha'
  assert not (top / 'hard').is_symlink()
  assert os.readlink(top / 'dangling') == 'missing.txt'


@pytest.mark.parametrize('members, fragments', [
    # Writing through a link the archive made.
    ([tar_dir('top/sub'), tar_link('top/to_sub', 'sub'),
      ('top/to_sub/x.txt', b'x')],
     ["'top/to_sub/x.txt' goes through the symbolic link 'top/to_sub'"]),
    # The same on a case-insensitive file system.
    ([tar_dir('sub'), tar_link('Link', 'sub'), ('link/x.txt', b'x')],
     ["'link/x.txt' goes through the symbolic link 'link'"]),
    # A file member replacing a link would be written through it.
    ([('a.txt', b'a'), tar_link('l', 'a.txt'), ('l', b'changed')],
     ["'l' replaces the symbolic link"]),
    ([('top/sub/x.txt', b'x'), tar_link('top/sub', '.')],
     ["'top/sub' is a symbolic link where an earlier member made a folder"]),
    ([('a.txt', b'a'), ('a.txt/b.txt', b'b')],
     ["'a.txt/b.txt' is inside 'a.txt', which is a file"]),
    # Links to links, even ones that come later in the archive.
    ([('a.txt', b'a'), tar_link('l1', 'l2'), tar_link('l2', 'a.txt')],
     ["'l1' is a link to 'l2'", 'links to links are refused']),
    ([tar_dir('top/sub'), tar_link('top/to_sub', 'sub'),
      tar_link('top/esc', 'to_sub/../../x')],
     ["'top/esc'", "goes through the symbolic link 'top/to_sub'"]),
    # '..' only climbs out of folders the archive makes.
    ([('top/a.txt', b'a'), tar_link('top/l', 'missing/../a.txt')],
     ["climbs out of 'top/missing', not a folder of the archive"]),
    ([('top/a.txt', b'a'), tar_link('top/l', 'a.txt/../a.txt')],
     ["climbs out of 'top/a.txt'"]),
    ([tar_link('top/l', '')], ["'top/l' is a link to '', an empty target"]),
    ([tar_link('top/l', '../..')], ["'top/l'", 'outside the archive']),
    # Hard links name an earlier file of the archive.
    ([tar_link('h', 'later.txt', tarfile.LNKTYPE), ('later.txt', b'x')],
     ["'h' is a hard link to 'later.txt', which is not an earlier file"]),
    ([('a.txt', b'a'), tar_link('l', 'a.txt'),
      tar_link('h', 'l', tarfile.LNKTYPE)],
     ["'h' is a hard link to 'l'"]),
    ([tar_dir('d'), tar_link('h', 'd', tarfile.LNKTYPE)],
     ["'h' is a hard link to 'd'"]),
    ([('./', b'x')], ["names the archive root"]),
    # On POSIX a backslash is part of a name: 'a\\b' is a link at the root,
    # whose '..' leaves it; a model splitting there would put it in 'a'.
    ([tar_link('a\\b', '..'), ('a\\b/x.txt', b'x')],
     ["'a\\\\b' contains a backslash"]),
    ([('a.txt', b'a'), tar_link('l', 'x\\..\\..')],
     ["a target with a backslash"]),
    ([('a.txt', b'a'), tar_link('h', 'A.txt', tarfile.LNKTYPE)],
     ["'h' is a hard link to 'A.txt', which is not an earlier file"]),
    ([tar_link('h', '../x', tarfile.LNKTYPE)],
     ["'h' is a hard link to '../x', not a path inside the archive (it "
      "contains a '..' component)"]),
])
def test_refuses_links_the_model_cannot_vouch_for(tmp_path, members,
                                                   fragments):
  archive = _write(tmp_path, tar_bytes(members))
  target = tmp_path / 'out'
  target.mkdir()
  _assert_refused(archive, target, *fragments)


def test_refuses_zip_symbolic_links(tmp_path):
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as archive:
    archive.writestr('top/a.txt', b'a')
    info = zipfile.ZipInfo('top/link')
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive.writestr(info, 'a.txt')
  target = tmp_path / 'out'
  target.mkdir()
  _assert_refused(_write(tmp_path, buffer.getvalue(), 'l.zip'), target,
                  "'top/link' is a symbolic link")


def test_zip_paths_are_modelled_too(tmp_path):
  buffer = io.BytesIO()
  with zipfile.ZipFile(buffer, 'w') as archive:
    archive.writestr('a.txt', b'a')
    archive.writestr('a.txt/b.txt', b'b')
  target = tmp_path / 'out'
  target.mkdir()
  _assert_refused(_write(tmp_path, buffer.getvalue(), 'f.zip'), target,
                  "'a.txt/b.txt' is inside 'a.txt', which is a file")


def test_check_refuses_and_keep_selects(tmp_path):
  archive = _write(tmp_path, tar_bytes({'want.bin': b'w', 'extra/x': b'x'}))
  target = tmp_path / 'out'
  target.mkdir()

  def no_extras(members):
    names = sorted(m.name for m in members)
    if names != ['want.bin']:
      raise ValueError('unexpected members %s' % names)

  _assert_refused(archive, target, "unexpected members ['extra/x', "
                  "'want.bin']", check=no_extras)
  assert extract.safe_extract(
      archive, str(target), keep=lambda name: name == 'want.bin') == [
          'want.bin']
  assert os.listdir(target) == ['want.bin']
