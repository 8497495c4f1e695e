#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpora of tests/fuzz/corpus/ (committed; rerun only to change them).
Images come from ImageMagick's `convert` and GdkPixbuf (the system python3's gi); everything
else is built here. Each seed is small: libFuzzer mutates from them."""
import json, os, struct, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.path.join(root, 'tests', 'fuzz', 'corpus')
data = os.path.join(root, 'tests', 'data')
MARK = b'\n====\n'


def put(target, name, blob):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(blob)


def safetensors(tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header).encode()
    return struct.pack('<Q', len(h)) + h + b''.join(blobs)


f32 = struct.pack('<4f', 1.0, -2.5, 3.25, 1e-3)
bf16 = struct.pack('<4H', 0x3f80, 0xc020, 0x7f80, 0x0001)
f16 = struct.pack('<4H', 0x3c00, 0xfc00, 0x7e00, 0x0001)
put('fuzz-safetensors', 'f32', safetensors({'a': ('F32', [2, 2], f32)}))
put('fuzz-safetensors', 'mixed', safetensors({'a': ('BF16', [4], bf16), 'b': ('F16', [2, 2], f16),
                                              'c': ('I64', [1], b'\0' * 8)},
                                             {'format': 'pt'}))
put('fuzz-safetensors', 'empty-header', struct.pack('<Q', 2) + b'{}')
shard = safetensors({'w': ('F32', [4], f32), 'v': ('BF16', [2], bf16[:4])})
index = json.dumps({'metadata': {'total_size': 20},
                    'weight_map': {'w': 'model-00001-of-00001.safetensors',
                                   'v': 'model-00001-of-00001.safetensors'}}).encode()
put('fuzz-safetensors', 'sharded', index + MARK + shard)

for m in ['tiny-siglip2-naflex', 'tiny-siglip-fixres', 'tiny-siglip2-naflex-bf16-sharded']:
    cfg = open(os.path.join(data, m, 'config.json'), 'rb').read()
    pre = open(os.path.join(data, m, 'preprocessor_config.json'), 'rb').read()
    put('fuzz-config', m, cfg + MARK + pre)

vocab = {'<unk>': 0, '<eos>': 1, '<pad>': 2, 'a': 3, 'b': 4, 'c': 5, 'ab': 6, 'abc': 7,
         '\u2581': 8, 'aa': 9, 'bc': 10, '\u2581a': 11, '<0xC3>': 12, '<0xA9>': 13, 'x': 14}
tok = {'version': '1.0',
       'added_tokens': [{'id': 1, 'content': '<eos>', 'normalized': False, 'special': True},
                        {'id': 2, 'content': '<pad>', 'normalized': False, 'special': True}],
       'normalizer': {'type': 'Sequence', 'normalizers': [
           {'type': 'Replace', 'pattern': {'String': ' '}, 'content': '\u2581'}]},
       'pre_tokenizer': None,
       'post_processor': {'type': 'TemplateProcessing',
                          'single': [{'Sequence': {'id': 'A', 'type_id': 0}},
                                     {'SpecialToken': {'id': '<eos>', 'type_id': 0}}],
                          'special_tokens': {'<eos>': {'id': '<eos>', 'ids': [1],
                                                       'tokens': ['<eos>']}}},
       'decoder': None,
       'model': {'type': 'BPE', 'unk_token': '<unk>', 'fuse_unk': True, 'byte_fallback': True,
                 'vocab': vocab, 'merges': [['a', 'b'], ['ab', 'c'], ['a', 'a'], ['b', 'c'],
                                            ['\u2581', 'a']]}}
cfg = {'add_bos_token': False, 'add_eos_token': True, 'pad_token': '<pad>',
       'padding_side': 'right'}
put('fuzz-tokenizer-load', 'tiny', json.dumps(tok).encode())
put('fuzz-tokenizer-load', 'tiny-with-config', json.dumps(tok).encode() + MARK
    + json.dumps(cfg).encode())
tok2 = dict(tok, model=dict(tok['model'], merges=['a b', 'ab c']), pre_tokenizer={
    'type': 'Split', 'pattern': {'String': ' '}, 'behavior': 'MergedWithPrevious', 'invert': False})
put('fuzz-tokenizer-load', 'string-merges-split', json.dumps(tok2, indent=1).encode())

for i, t in enumerate(['This is a photo of a cat.', 'cat, dog, 一只猫', 'Ünïcödé ΑΒΓ İstanbul',
                       '<eos><pad> 한국어 日本語 العربية', 'a\tb\nc\u3000d，e、f',
                       '\U0001F600 emoji and \u200d joiners']):
    put('fuzz-tokenize', 'text-%d' % i, t.encode())
put('fuzz-tokenize', 'invalid-utf8', b'caf\xc3 \xff\xfe \xed\xa0\x80')

for i, (w, h, pad, mp) in enumerate([(16, 16, 0, 256), (151, 900, 3, 0), (1, 1, 0, 1),
                                     (2000, 3, 7, 1024), (0, 5, 0, 16)]):
    put('fuzz-preprocess', 'size-%d' % i,
        struct.pack('<HHBHB', w, h, pad, mp, 0) + bytes(range(256)))

with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(data, 'images', 'tiny_16x16.png')
    convert = [('png', 'png'), ('jpg', 'jpg'), ('gif', 'gif'), ('bmp', 'bmp'), ('tif', 'tiff'),
               ('webp', 'webp'), ('ico', 'ico'), ('ppm', 'ppm'), ('tga', 'tga')]
    for ext, name in convert:
        out = os.path.join(tmp, 'x.' + ext)
        subprocess.run(['convert', src, '-resize', '8x6!', out], check=True)
        put('fuzz-decode', name, open(out, 'rb').read())
    out = os.path.join(tmp, 'cmyk.jpg')
    subprocess.run(['convert', src, '-resize', '8x6!', '-colorspace', 'CMYK', out], check=True)
    put('fuzz-decode', 'cmyk-jpeg', open(out, 'rb').read())
    out = os.path.join(tmp, 'x16.png')
    subprocess.run(['convert', src, '-resize', '8x6!', '-depth', '16', out], check=True)
    put('fuzz-decode', 'png-16bit', open(out, 'rb').read())
put('fuzz-decode', 'exif-jpeg', open(os.path.join(data, 'images', 'exif_rot6_320x240.jpg'),
                                     'rb').read())
put('fuzz-decode', 'svg', b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="6">'
    b'<rect width="8" height="6" fill="red"/></svg>')
