"""README.md is a landing page that leads to every page of docs/, and every
relative link of README.md and docs/*.md leads somewhere that exists."""
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ['README.md'] + sorted(
    os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, 'docs',
                                                             '*.md')))
MAX_README_LINES = 250


def _read(path):
  with open(os.path.join(ROOT, path), encoding='utf-8') as f:
    return f.read()


def _prose(text):
  """`text` without its fenced code blocks (a link there is not one)."""
  return re.sub(r'^```.*?^```', '', text, flags=re.MULTILINE | re.DOTALL)


def relative_links(path):
  """The (target, anchor) of each relative markdown link in `path`."""
  links = re.findall(r'\]\(([^)\s]+)\)', _prose(_read(path)))
  return [tuple((link.split('#', 1) + [''])[:2]) for link in links
          if not re.match(r'^[a-z]+:', link)]


def anchors(path):
  """GitHub's anchors of the headings of `path`: lower case, spaces to -,
  punctuation other than - and _ dropped."""
  headings = re.findall(r'^#+ (.*)$', _prose(_read(path)), re.MULTILINE)
  return {re.sub(r'[^\w\- ]', '', h.strip().lower()).replace(' ', '-')
          for h in headings}


def test_readme_is_short():
  assert _read('README.md').count('\n') < MAX_README_LINES


def test_readme_links_every_page_of_docs():
  linked = {os.path.normpath(target) for target, _ in
            relative_links('README.md')}
  assert set(DOCS[1:]) <= linked, set(DOCS[1:]) - linked


@pytest.mark.parametrize('path', DOCS)
def test_relative_links_resolve(path):
  for target, anchor in relative_links(path):
    resolved = (os.path.normpath(os.path.join(os.path.dirname(path), target))
                if target else path)
    assert os.path.exists(os.path.join(ROOT, resolved)), (path, target)
    if anchor:
      assert anchor in anchors(resolved), (path, target, anchor)


def test_links_are_found():
  assert sum(len(relative_links(p)) for p in DOCS) > 20


def test_anchor_rule():
  # Checked against the anchors GitHub gives these headings.
  assert anchors('README.md') >= {'set-up-two-commands', 'a-five-minute-tour',
                                  'where-to-read-next'}
  assert 'the-library-import-slim' in anchors('docs/library.md')
