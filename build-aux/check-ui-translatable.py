#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every user-visible string in the GtkBuilder files must reach the translators.

Usage: check-ui-translatable.py UI_DIR
Walks UI_DIR for *.ui files and, speaking TAP (one test per file), fails on any
property, menu attribute, accessibility property or list item that shows text to
people but lacks translatable="yes". A deliberate translatable="no" is allowed
(an app name, a unit) but reported, so it is a choice, not an accident.
"""
import os
import sys
import xml.etree.ElementTree as ET

# Properties (GTK 4, libadwaita 1.x) whose value is read by people or screen readers.
TEXT_PROPERTIES = {
    'label', 'title', 'subtitle', 'tooltip-text', 'tooltip-markup', 'placeholder-text',
    'description', 'text', 'secondary-text', 'heading', 'body', 'button-label',
    'accelerator-label', 'primary-icon-tooltip-text', 'secondary-icon-tooltip-text',
    'primary-icon-tooltip-markup', 'secondary-icon-tooltip-markup', 'comments',
    'program-name', 'application-name', 'developer-name', 'translator-credits',
    'copyright', 'website-label', 'release-notes', 'name-label', 'show-apps-label',
    'default-text', 'alternative-text',
}
# In these the value is an identifier, not prose, even though the name matches above.
NOT_TEXT = {
    # GtkShortcutsShortcut: accelerator is "<ctrl>o", action-name is "win.open"
    'accelerator', 'action-name', 'icon-name', 'name', 'css-name', 'css-classes',
}
# Accessible properties that are announced.
A11Y_TEXT = {'label', 'description', 'placeholder', 'role-description', 'value-text'}


def looks_like_text(value):
    """Prose has letters; '•', '0', '%' or an empty string do not need translating."""
    return value is not None and any(ch.isalpha() for ch in value)


def is_translatable(el):
    return el.get('translatable', '').lower() in ('yes', 'true', '1')


def check_file(path):
    problems, notes = [], []
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        return [f'{path}: not well-formed XML: {e}'], notes
    parent = {c: p for p in root.iter() for c in p}

    def where(el):
        owner = el
        while owner is not None and owner.tag not in ('object', 'template', 'item'):
            owner = parent.get(owner)
        if owner is None:
            return 'interface'
        kind = owner.get('class') or owner.tag
        oid = owner.get('id')
        return f'{kind}#{oid}' if oid else kind

    def judge(el, what):
        value = el.text
        if not looks_like_text(value):
            return
        if is_translatable(el):
            return
        if el.get('translatable', '').lower() in ('no', 'false', '0'):
            notes.append(f'{where(el)} {what} "{value}" is explicitly untranslatable')
            return
        problems.append(f'{where(el)} {what} "{value}" lacks translatable="yes"')

    for el in root.iter():
        if el.tag == 'property':
            name = el.get('name', '').replace('_', '-')
            if name in NOT_TEXT:
                continue
            in_a11y = parent.get(el) is not None and parent[el].tag == 'accessibility'
            if (in_a11y and name in A11Y_TEXT) or (not in_a11y and name in TEXT_PROPERTIES):
                judge(el, f'{"accessible " if in_a11y else ""}property "{name}"')
        elif el.tag == 'attribute' and el.get('name') == 'label':
            judge(el, 'menu label')
        elif el.tag == 'item' and parent.get(el) is not None and parent[el].tag == 'items':
            judge(el, 'list item')
        elif el.tag in ('mark', 'col') and el.text:
            # GtkScale marks (<mark value="0">Low</mark>), GtkListStore columns
            judge(el, el.tag)
    return problems, notes


def main():
    if len(sys.argv) != 2:
        print('usage: check-ui-translatable.py UI_DIR', file=sys.stderr)
        return 2
    ui_dir = sys.argv[1]
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(ui_dir) for f in fs if f.endswith('.ui'))
    if not files:
        # The window issue puts its templates in ui/; an empty folder means nothing to check yet,
        # but it must not pass silently as if it had been checked.
        print(f'1..0 # SKIP no .ui files under {ui_dir}')
        return 0
    print(f'1..{len(files)}')
    failed = 0
    for i, path in enumerate(files, 1):
        rel = os.path.relpath(path, ui_dir)
        problems, notes = check_file(path)
        for n in notes:
            print(f'# {rel}: note: {n}')
        if problems:
            failed += 1
            print(f'not ok {i} {rel}')
            for p in problems:
                print(f'# {rel}: {p}')
        else:
            print(f'ok {i} {rel}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
