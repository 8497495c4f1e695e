#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""po/POTFILES.in must name every file with translatable strings, and only files that exist.

Usage: check-potfiles.py SOURCE_ROOT
A file left out of POTFILES.in never reaches siglens.pot, so its strings stay English in
every language without anyone noticing; a listed file that was renamed breaks xgettext.
Speaks TAP.
"""
import os
import re
import sys

# gettext calls as glib/gi18n.h spells them: _("..."), N_("..."), C_("ctx", "..."), NC_(...),
# g_dngettext (NULL, "...", ...), ngettext ("...", ...)
C_CALL = re.compile(r'(?<![\w])(?:_|N_|C_|NC_|ngettext|g_dngettext|g_dpgettext2)\s*\(')
UI_MARK = re.compile(r'translatable\s*=\s*"(?:yes|true|1)"')
SCHEMA_TEXT = re.compile(r'<(?:summary|description)>')


def read_potfiles(path):
    listed = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                listed.append(line)
    return listed


def candidates(root):
    """Files that contain strings for translators, relative to root."""
    found = set()
    for top in ('src', 'ui', 'data'):
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = [x for x in dirs if not x.startswith('.')]
            for name in files:
                path = os.path.join(d, name)
                rel = os.path.relpath(path, root)
                if name.endswith(('.c', '.h')):
                    pattern = C_CALL
                elif name.endswith('.ui'):
                    pattern = UI_MARK
                elif name.endswith(('.desktop.in', '.metainfo.xml.in')):
                    found.add(rel)
                    continue
                elif name.endswith('.gschema.xml'):
                    pattern = SCHEMA_TEXT
                else:
                    continue
                with open(path, encoding='utf-8', errors='replace') as f:
                    if pattern.search(f.read()):
                        found.add(rel)
    return found


def main():
    if len(sys.argv) != 2:
        print('usage: check-potfiles.py SOURCE_ROOT', file=sys.stderr)
        return 2
    root = sys.argv[1]
    potfiles = os.path.join(root, 'po', 'POTFILES.in')
    listed = read_potfiles(potfiles)
    wanted = candidates(root)

    print('1..3')
    status = 0
    gone = [p for p in listed if not os.path.isfile(os.path.join(root, p))]
    if gone:
        status = 1
        print('not ok 1 every file in po/POTFILES.in exists')
        for p in gone:
            print(f'# po/POTFILES.in lists {p}, which does not exist')
    else:
        print('ok 1 every file in po/POTFILES.in exists')

    missing = sorted(wanted - set(listed))
    if missing:
        status = 1
        print('not ok 2 every file with translatable strings is in po/POTFILES.in')
        for p in missing:
            print(f'# {p} has translatable strings but is not in po/POTFILES.in')
    else:
        print('ok 2 every file with translatable strings is in po/POTFILES.in')

    dupes = sorted({p for p in listed if listed.count(p) > 1})
    if dupes:
        status = 1
        print('not ok 3 no file is listed twice')
        for p in dupes:
            print(f'# po/POTFILES.in lists {p} more than once')
    else:
        print('ok 3 no file is listed twice')
    return status


if __name__ == '__main__':
    sys.exit(main())
