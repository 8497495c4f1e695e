#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every language in po/LINGUAS translates every string the sources have today.

Usage: check-po-complete.py SOURCE_ROOT WORK_DIR
Extracts a fresh template from po/POTFILES.in (as `meson compile siglens-pot` does, with
meson's glib preset), merges each .po with it exactly (no fuzzy guessing), and fails on
any untranslated or fuzzy message, printing it. So a new string in the window shows up
here as a failure until it is translated, instead of as English in a Chinese UI.
Speaks TAP, one test per language.
"""
import os
import subprocess
import sys

# meson's i18n.gettext(preset: 'glib') arguments (mesonbuild/modules/i18n.py)
XGETTEXT_ARGS = [
    '--from-code=UTF-8', '--add-comments', '-k_',
    '--msgid-bugs-address=https://github.com/siglens/siglens/issues',
    '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
    '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3', '--keyword=g_dpgettext2:2c,3',
    '--flag=N_:1:pass-c-format', '--flag=C_:2:pass-c-format', '--flag=NC_:2:pass-c-format',
    '--flag=g_dngettext:2:pass-c-format', '--flag=g_strdup_printf:1:c-format',
    '--flag=g_string_printf:2:c-format', '--flag=g_string_append_printf:2:c-format',
    '--flag=g_error_new:3:c-format', '--flag=g_set_error:4:c-format',
    '--flag=g_markup_printf_escaped:1:c-format',
]


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def linguas(po_dir):
    langs = []
    with open(os.path.join(po_dir, 'LINGUAS'), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            langs += line.split()
    return langs


def msgids(po_text):
    """The msgids of a .po text (msgattrib output), joined from their continuation lines."""
    out, cur, in_id = [], None, False
    for line in po_text.splitlines():
        if line.startswith('msgid '):
            cur, in_id = line[6:].strip()[1:-1], True
        elif line.startswith('"') and in_id:
            cur += line.strip()[1:-1]
        else:
            if in_id and cur:
                out.append(cur)
            in_id = False
            cur = None
    if in_id and cur:
        out.append(cur)
    return out


def main():
    if len(sys.argv) != 3:
        print('usage: check-po-complete.py SOURCE_ROOT WORK_DIR', file=sys.stderr)
        return 2
    root, work = sys.argv[1], sys.argv[2]
    po_dir = os.path.join(root, 'po')
    os.makedirs(work, exist_ok=True)
    pot = os.path.join(work, 'siglens.pot')

    r = run(['xgettext', '--package-name=siglens', '-f', os.path.join(po_dir, 'POTFILES.in'),
             '-D', root, '-o', pot] + XGETTEXT_ARGS)
    langs = linguas(po_dir)
    if r.returncode != 0:
        print('1..1')
        print('not ok 1 extract the template from po/POTFILES.in')
        for line in r.stderr.splitlines():
            print(f'# {line}')
        return 1

    print(f'1..{len(langs)}')
    failed = 0
    for i, lang in enumerate(langs, 1):
        po = os.path.join(po_dir, f'{lang}.po')
        merged = os.path.join(work, f'{lang}.po')
        r = run(['msgmerge', '--quiet', '--no-fuzzy-matching', '-o', merged, po, pot])
        if r.returncode != 0:
            failed += 1
            print(f'not ok {i} {lang}: msgmerge failed')
            for line in r.stderr.splitlines():
                print(f'# {line}')
            continue
        untranslated = msgids(run(['msgattrib', '--untranslated', '--no-obsolete', merged]).stdout)
        fuzzy = msgids(run(['msgattrib', '--only-fuzzy', '--no-obsolete', merged]).stdout)
        total = len(msgids(run(['msgattrib', '--no-obsolete', merged]).stdout))
        if untranslated or fuzzy:
            failed += 1
            print(f'not ok {i} {lang}: {len(untranslated)} untranslated, {len(fuzzy)} fuzzy of {total}')
            for s in untranslated:
                print(f'# {lang}: untranslated: "{s}"')
            for s in fuzzy:
                print(f'# {lang}: fuzzy: "{s}"')
        else:
            print(f'ok {i} {lang}: all {total} messages translated')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
