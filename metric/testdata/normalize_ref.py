"""Reference for metric's normalisation tests, written for Lethe from the
documented behaviour of the official SQuAD v1.1 and MLQA evaluation scripts.

Reads JSON [[text, mode, lang], ...] on stdin and writes the normalised
strings as a JSON list on stdout. Mode "squad" or "mlqa".
"""
import json
import re
import string
import sys
import unicodedata

ASCII_PUNCT = set(string.punctuation)
UNICODE_PUNCT = {chr(c) for c in range(sys.maxunicode)
                 if unicodedata.category(chr(c)).startswith("P")} | ASCII_PUNCT
ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
}


def zh_tokens(text):
    tokens, run = [], ""
    for ch in text:
        if re.search(r"[\u4e00-\u9fa5]", ch) or ch in UNICODE_PUNCT:
            tokens.extend(run.split())
            run = ""
            tokens.append(ch)
        else:
            run += ch
    tokens.extend(run.split())
    return tokens


def normalize(text, mode, lang):
    text = text.lower()
    if mode == "squad":
        text = "".join(ch for ch in text if ch not in ASCII_PUNCT)
        return " ".join(re.sub(ARTICLES["en"], " ", text).split())
    text = "".join(ch for ch in text if ch not in UNICODE_PUNCT)
    if lang == "ar":
        # the official script's expression, kept as written there
        text = re.sub("\\sال^|ال", " ", text)
    elif lang in ARTICLES:
        text = re.sub(ARTICLES[lang], " ", text)
    tokens = zh_tokens(text) if lang == "zh" else text.split()
    return " ".join(t for t in tokens if t.strip())


cases = json.load(sys.stdin)
json.dump([normalize(*c) for c in cases], sys.stdout, ensure_ascii=False)
