#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Flatpak manifest is valid JSON, reproducible and sandboxed as promised.

Usage: check-flatpak-manifest.py MANIFEST.json
flatpak-builder cannot run here (the GNOME runtime is not available offline), so this
checks what can be checked without it. Speaks TAP.
- every remote source is pinned: archives/files by sha256, git by a full commit;
  only sources inside this repository (dir/file with a relative path) go unpinned;
- the runtime is a current GNOME one and the command is siglens;
- finish-args are those of a sandboxed app: Wayland with X11 fallback, DRI, network,
  no broad filesystem access, read-only Hugging Face cache;
- OpenBLAS is built for every x86-64/aarch64 core without Fortran or OpenMP, and cJSON
  and Siglens are built (Siglens last, as release).
"""
import json
import re
import sys

SHA256 = re.compile(r'^[0-9a-f]{64}$')
COMMIT = re.compile(r'^[0-9a-f]{40}$')
BROAD_FS = re.compile(r'^--filesystem=(host|host-os|host-etc|home|~|/)(:.*)?$')

results = []


def check(name, problems):
    results.append((name, problems))


def walk_modules(modules, path=''):
    for m in modules:
        if isinstance(m, str):
            # a module kept in its own file; it must live next to the manifest and be checked too
            yield (path + m, None)
            continue
        yield (path + m.get('name', '?'), m)
        yield from walk_modules(m.get('modules', []), path + m.get('name', '?') + '/')


def source_problems(module, src):
    kind = src.get('type')
    where = f'module {module}: {kind} source {src.get("url") or src.get("path") or ""}'
    if kind in ('archive', 'file'):
        if 'url' in src:
            if not src['url'].startswith('https://'):
                return [f'{where}: url is not https']
            if not SHA256.match(src.get('sha256', '')):
                return [f'{where}: no sha256 (64 lowercase hex digits)']
            return []
        if 'path' in src and not src['path'].startswith('/'):
            return []  # a file of this repository
        return [f'{where}: neither a pinned url nor a repository path']
    if kind == 'git':
        if not COMMIT.match(src.get('commit', '')):
            return [f'{where}: git source without a full 40-digit commit']
        return []
    if kind == 'dir':
        if src.get('path', '/').startswith('/'):
            return [f'{where}: dir source outside this repository']
        return []
    if kind in ('patch',):
        return [] if not src.get('path', '/').startswith('/') else [f'{where}: patch outside the repository']
    if kind in ('shell', 'script', 'inline'):
        return []
    return [f'{where}: source type "{kind}" is not allowed here (cannot be pinned)']


def main():
    if len(sys.argv) != 2:
        print('usage: check-flatpak-manifest.py MANIFEST.json', file=sys.stderr)
        return 2
    path = sys.argv[1]
    try:
        with open(path, encoding='utf-8') as f:
            m = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print('1..1')
        print(f'not ok 1 {path} parses as JSON')
        print(f'# {path}: {e}')
        return 1
    check('parses as JSON', [])

    app_id = m.get('id') or m.get('app-id')
    check('app id and command', [p for p in [
        None if app_id == 'io.github.siglens.Siglens' else f'id is {app_id!r}, expected io.github.siglens.Siglens',
        None if m.get('command') == 'siglens' else f'command is {m.get("command")!r}, expected siglens',
    ] if p])

    rt_problems = []
    if m.get('runtime') != 'org.gnome.Platform':
        rt_problems.append(f'runtime is {m.get("runtime")!r}, expected org.gnome.Platform')
    if m.get('sdk') != 'org.gnome.Sdk':
        rt_problems.append(f'sdk is {m.get("sdk")!r}, expected org.gnome.Sdk')
    version = str(m.get('runtime-version', ''))
    if not version.isdigit() or int(version) < 47:
        rt_problems.append(f'runtime-version is {version!r}, expected a current GNOME (47 or later)')
    check('current GNOME runtime and SDK', rt_problems)

    args = m.get('finish-args', [])
    fa = []
    for need in ('--socket=wayland', '--socket=fallback-x11', '--share=ipc', '--device=dri',
                 '--share=network', '--filesystem=~/.cache/huggingface:ro'):
        if need not in args:
            fa.append(f'finish-args lack {need}')
    for a in args:
        if BROAD_FS.match(a) or a in ('--device=all', '--socket=session-bus', '--socket=system-bus'):
            fa.append(f'finish-args grant {a}: files come through the portal')
        elif a.startswith('--filesystem=') and not a.endswith(':ro'):
            fa.append(f'finish-args grant writable {a}')
        elif a == '--socket=x11':
            fa.append('--socket=x11 forces X11; use --socket=fallback-x11')
    check('sandbox finish-args', fa)

    modules = list(walk_modules(m.get('modules', [])))
    pin = []
    for name, mod in modules:
        if mod is None:
            pin.append(f'module {name} is kept in another file; inline it so it is checked')
            continue
        sources = mod.get('sources', [])
        if not sources:
            pin.append(f'module {name} has no sources')
        for src in sources:
            if isinstance(src, str):
                pin.append(f'module {name}: source kept in another file ({src})')
            else:
                pin.extend(source_problems(name, src))
    check('every module source is pinned', pin)

    by_name = {name: mod for name, mod in modules if mod}
    ob = by_name.get('openblas')
    obp = []
    if ob is None:
        obp.append('no openblas module')
    else:
        env = dict(ob.get('build-options', {}).get('env', {}))
        text = ' '.join(ob.get('build-commands', []) + ob.get('make-args', []) + ob.get('config-opts', []))

        def setting(key):
            if key in env:
                return env[key]
            hit = re.search(rf'(?:-D)?{key}=(\S+)', text)
            return hit.group(1) if hit else None

        for key, want in (('DYNAMIC_ARCH', ('1', 'ON')), ('NOFORTRAN', ('1', 'ON')),
                          ('USE_OPENMP', ('0', 'OFF'))):
            if setting(key) not in want:
                obp.append(f'openblas: {key} is {setting(key)!r}, expected {want[0]}')
        if setting('ONLY_CBLAS') not in ('1', 'ON') and setting('C_LAPACK') not in ('1', 'ON'):
            obp.append('openblas: without Fortran it needs ONLY_CBLAS=1 (or C_LAPACK=1)')
        threads = setting('NUM_THREADS')
        if threads is None or not threads.isdigit() or not 8 <= int(threads) <= 256:
            obp.append(f'openblas: NUM_THREADS is {threads!r}, expected 8..256')
        arch = ob.get('build-options', {}).get('arch', {})
        for a, target in (('x86_64', 'GENERIC'), ('aarch64', 'ARMV8')):
            if arch.get(a, {}).get('env', {}).get('TARGET') != target:
                obp.append(f'openblas: {a} baseline TARGET should be {target} (DYNAMIC_ARCH picks the core at run time)')
    check('OpenBLAS for all x86-64 and aarch64 cores, no Fortran, no OpenMP', obp)

    order = [name for name, _ in modules]
    op = []
    for need in ('openblas', 'cjson', 'siglens'):
        if need not in order:
            op.append(f'no {need} module')
    if not op:
        if not order.index('openblas') < order.index('siglens') or not order.index('cjson') < order.index('siglens'):
            op.append('siglens must be built after openblas and cjson')
        sg = by_name['siglens']
        if sg.get('buildsystem') != 'meson':
            op.append('siglens is not built with meson')
        if '-Dbuildtype=release' not in sg.get('config-opts', []):
            op.append('siglens is not a release build (-Dbuildtype=release)')
    check('cJSON and Siglens modules', op)

    print(f'1..{len(results)}')
    failed = 0
    for i, (name, problems) in enumerate(results, 1):
        if problems:
            failed += 1
            print(f'not ok {i} {name}')
            for p in problems:
                print(f'# {path}: {p}')
        else:
            print(f'ok {i} {name}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
