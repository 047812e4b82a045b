#!/usr/bin/env python3
"""Writes the fixtures that tie `tok --vocab` to HuggingFace `tokenizers`.

Run once, in a venv outside the repository that has `tokenizers`
(python3 -m venv ~/venv-tok && ~/venv-tok/bin/pip install tokenizers), after
scripts/fetch-text-data:

    ~/venv-tok/bin/python scripts/make_wordpiece_fixture.py [--cache cache] [--out Tests/TokTests/Fixtures]

Writes:
  wordpiece_rt.tsv               sentence<TAB>space-separated ids, from
                                 BertWordPieceTokenizer(vocab.txt, lowercase=True) without
                                 special tokens: 500 Rotten Tomatoes sentences (seed 0) and a
                                 few hand-written tricky lines. Checking it needs
                                 cache/bert/vocab.txt (not committed).
  bert_basic_codepoints.tsv.gz   the BERT basic tokenizer (BertNormalizer, lowercase, then
                                 BertPreTokenizer) on "a" + c + "b" for every code point c,
                                 run-length encoded by what happens to c (see below).
  bert_basic_fuzz.tsv.gz         the same on 3,000 random short strings, both lower-cased
                                 (uncased vocabularies) and not (cased ones).

bert_basic_codepoints.tsv.gz lines: FIRST<TAB>LAST<TAB>WHAT (hex code points, inclusive), where
WHAT is K (c kept inside the word: one word a c b), R (c removed: one word ab), W (c is
whitespace: words a and b), I (c isolated: words a, c, b), or =PIECES for anything else
(the words, '|'-separated, each as space-separated hex code points).
bert_basic_fuzz.tsv.gz lines: INPUT<TAB>LOWER<TAB>PIECES, INPUT as space-separated hex code
points, LOWER 1 or 0, PIECES as above.
"""
import argparse
import gzip
import os
import random
import sys
import unicodedata

from tokenizers import BertWordPieceTokenizer, normalizers, pre_tokenizers

TRICKY = [
    "Café naïve résumé façade",
    "Cafe\u0301 decomposed accents: e\u0301 a\u0300 o\u0308",
    "我爱北京天安门",
    "日本語のテキストと中文混合 text",
    "한국어 문장입니다",
    "don't!! won't?? \"quoted\" (parens) [brackets] {braces}",
    "emoji 😀 and 👍🏽 and 👨‍👩‍👧 family",
    "hello😀world",
    "Straße ΣΊΣΥΦΟΣ İstanbul ǅungla",
    "ﬁne ﬂour ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "zero\u200bwidth soft\u00adhyphen non\u00a0breaking bom\ufeffhere",
    "ellipsis… em—dash en–dash «guillemets» „low quotes“ ‘single’",
    "x" * 100,
    "y" * 101,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "[CLS] [SEP] [UNK] [PAD] [MASK] ##ing",
    "e-mail: someone@example.com, url: https://example.com/a?b=c&d=e#f",
    "numbers 3.14159 1,000,000 42nd 1990s",
    "Ελληνικά Русский текст العربية עברית हिन्दी ไทย",
    "tabs\u3000ideographic space and\u2028line separator",
    "control\u0001chars\u007fremoved\u0085here",
    "private use \ue000 and unassigned \u0378 and replacement \ufffd",
    "Ünïcödé ÀÉÎÕÜ ßẞ ĳ Ǉ",
    "  leading and trailing spaces  ",
]


def pieces_str(pieces):
    return "|".join(" ".join("%x" % ord(ch) for ch in p) for p, _ in pieces)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="cache")
    ap.add_argument("--out", default="Tests/TokTests/Fixtures")
    ap.add_argument("--sentences", type=int, default=500)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    # 1. WordPiece ids on Rotten Tomatoes sentences and tricky lines.
    vocab = os.path.join(args.cache, "bert", "vocab.txt")
    tok = BertWordPieceTokenizer(vocab, lowercase=True)
    assert tok.get_vocab_size() == 30522, tok.get_vocab_size()
    with open(os.path.join(args.cache, "rt", "rt.tsv"), encoding="utf-8") as f:
        sentences = [line.rstrip("\n").split("\t", 1)[1] for line in f]
    sample = random.Random(0).sample(sentences, args.sentences)
    with open(os.path.join(args.out, "wordpiece_rt.tsv"), "w", encoding="utf-8", newline="\n") as f:
        for s in sample + TRICKY:
            assert "\t" not in s and "\n" not in s and "\r" not in s
            ids = tok.encode(s, add_special_tokens=False).ids
            f.write(s + "\t" + " ".join(map(str, ids)) + "\n")

    # 2. The basic tokenizer on every code point.
    norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    rows = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        got = pieces_str(pre.pre_tokenize_str(norm.normalize_str("a" + c + "b")))
        h = "%x" % cp
        what = {"61 %s 62" % h: "K", "61 62": "R", "61|62": "W", "61|%s|62" % h: "I"}.get(got, "=" + got)
        if rows and rows[-1][2] == what and rows[-1][1] == cp - 1 and what[0] != "=":
            rows[-1][1] = cp
        else:
            rows.append([cp, cp, what])
    text = "".join("%x\t%x\t%s\n" % (a, b, w) for a, b, w in rows)
    with open(os.path.join(args.out, "bert_basic_codepoints.tsv.gz"), "wb") as f:
        f.write(gzip.compress(text.encode("utf-8"), mtime=0))

    # 3. Random short strings mixing marks, cased letters, punctuation, ideographs, controls.
    rng = random.Random(0)
    pool = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and (
        unicodedata.combining(chr(cp)) or unicodedata.decomposition(chr(cp))
        or chr(cp).lower() != chr(cp) or unicodedata.category(chr(cp))[0] in "PZCM")]
    basic = [0x61, 0x62, 0x20, 0x2E, 0x41, 0x301, 0x316, 0x1D165, 0x5B0, 0xAC00, 0x4E00, 0x9, 0x0,
             0xE000, 0x1F600, 0x11938, 0x1E130, 0x11D42]
    cased = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=False)
    lines = []
    for i in range(3000):
        n = rng.randint(1, 10)
        s = [rng.choice(pool) if rng.random() < 0.6 else rng.choice(basic) for _ in range(n)]
        if rng.random() < 0.1:
            s = [rng.randint(0x80, 0x10FFFF) for _ in range(n)]
        s = [c for c in s if not 0xD800 <= c <= 0xDFFF] or [0x61]
        text = "".join(map(chr, s))
        lower = i % 2 == 0
        got = pieces_str(pre.pre_tokenize_str((norm if lower else cased).normalize_str(text)))
        lines.append("%s\t%d\t%s\n" % (" ".join("%x" % c for c in s), lower, got))
    with open(os.path.join(args.out, "bert_basic_fuzz.tsv.gz"), "wb") as f:
        f.write(gzip.compress("".join(lines).encode("utf-8"), mtime=0))
    print(f"make_wordpiece_fixture: {len(sample)} sentences + {len(TRICKY)} tricky lines, "
          f"{len(rows)} code-point rows, {len(lines)} random strings", file=sys.stderr)


if __name__ == "__main__":
    main()
