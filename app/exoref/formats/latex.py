"""Unicode <-> LaTeX for BibTeX fields.

:func:`decode_latex` turns the LaTeX of a ``.bib`` field into plain Unicode for display and
search (``{\\"u}`` -> ``ü``, ``$\\beta$`` -> ``β``, ``--`` -> ``–``, ``\\&`` -> ``&``, braces
dropped).  :func:`encode_latex` goes the other way for export: the characters BibTeX and LaTeX
treat specially are escaped, so that text taken from a PDF can never run a LaTeX command
(``\\input{...}`` comes out as ``\\textbackslash{}input\\textbraceleft{}...``), and letters
outside ASCII become LaTeX accents and symbols unless raw UTF-8 is asked for.

The two are inverse on the text ExoRef stores (NFC-normalised Unicode): for such a string ``s``,
``decode_latex(encode_latex(s)) == s`` whether or not ``unicode`` is set, and the same holds for
:func:`encode_title`, which in addition wraps acronyms and gene or protein names (``MSC``,
``IL-1β``, ``CD63``, ``TNF-α``, ``mRNA``) in braces so that bibliography styles do not change
their case.

Speed matters (a library of 100,000 references is exported and imported in one go): strings
with nothing to encode or decode are recognised with a few C-speed scans and returned as they
are; encoding replaces the characters found by one precompiled pattern from a table computed at
import time (short strings such as names and journals are cached); decoding first replaces the
common one-character tokens (``{\\"u}``, ``{\\ss}``, ``{$\\beta$}``) in one pass, and only what
is left goes through the parser, which jumps from one special character to the next.
bibtexparser's own LaTeX middleware (pylatexenc) is not used: it takes about 55 s for 20,000
entries.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "decode_latex",
    "encode_latex",
    "encode_title",
    "encode_verbatim",
    "needs_case_protection",
    "needs_decoding",
    "simplify_latex",
    "subscript",
    "superscript",
]

# ============================================================================================
# Tables
# ============================================================================================

#: Accents written with a punctuation character: ``\"u``, ``\'e``, ...
_SYMBOL_ACCENTS: dict[str, str] = {
    "`": "\u0300",
    "'": "\u0301",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    '"': "\u0308",
}
#: Accents written with a letter: ``\c{c}``, ``\v s``, ...
_LETTER_ACCENTS: dict[str, str] = {
    "u": "\u0306",
    "r": "\u030a",
    "H": "\u030b",
    "v": "\u030c",
    "d": "\u0323",
    "c": "\u0327",
    "k": "\u0328",
    "b": "\u0331",
    "t": "\u0361",
    "G": "\u030f",
    "U": "\u030e",
    "textcommabelow": "\u0326",
    "textogonekcentered": "\u0328",
}
#: Math accents: ``$\overline{1}$``, ``$\vec{v}$``.
_MATH_ACCENTS: dict[str, str] = {
    "overline": "\u0305",
    "bar": "\u0304",
    "hat": "\u0302",
    "widehat": "\u0302",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "vec": "\u20d7",
    "dot": "\u0307",
    "ddot": "\u0308",
    "acute": "\u0301",
    "grave": "\u0300",
    "breve": "\u0306",
    "check": "\u030c",
    "mathring": "\u030a",
    "underline": "\u0332",
}
#: Spacing forms of accents given nothing to sit on: ``\~{}`` is a tilde.
_SPACING_ACCENTS: dict[str, str] = {
    "`": "`",
    "'": "\u00b4",
    "^": "^",
    "~": "~",
    "=": "\u00af",
    ".": "\u02d9",
    '"': "\u00a8",
}

#: Commands standing for one character (text and math mode alike).
_SYMBOLS: dict[str, str] = {
    # letters
    "ss": "ß", "SS": "ẞ", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
    "aa": "å", "AA": "Å", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð",
    "th": "þ", "TH": "Þ", "dj": "đ", "DJ": "Đ", "ng": "ŋ", "NG": "Ŋ", "ij": "ĳ", "IJ": "Ĳ",
    "eth": "ð",
    # punctuation and text symbols
    "textendash": "–", "textemdash": "—", "textquoteleft": "‘", "textquoteright": "’",
    "textquotedblleft": "“", "textquotedblright": "”", "quotesinglbase": "‚",
    "quotedblbase": "„", "guillemotleft": "«", "guillemotright": "»", "guilsinglleft": "‹",
    "guilsinglright": "›", "flqq": "«", "frqq": "»", "textquotesingle": "'",
    "textquotedbl": '"', "textexclamdown": "¡", "textquestiondown": "¿",
    "textregistered": "®", "texttrademark": "™", "textcopyright": "©", "copyright": "©",
    "S": "§", "textsection": "§", "P": "¶", "textparagraph": "¶", "dag": "†",
    "textdagger": "†", "ddag": "‡", "textdaggerdbl": "‡", "textbullet": "•",
    "ldots": "…", "dots": "…", "textellipsis": "…", "textdegree": "°", "degree": "°",
    "pounds": "£", "textsterling": "£", "euro": "€", "texteuro": "€", "textyen": "¥",
    "textcent": "¢", "textmu": "µ", "textperthousand": "‰", "textonehalf": "½",
    "textonequarter": "¼", "textthreequarters": "¾", "textordfeminine": "ª",
    "textordmasculine": "º", "textlnot": "¬", "textbrokenbar": "¦",
    "textperiodcentered": "·", "textasciitilde": "~", "textasciicircum": "^",
    "textbackslash": "\\", "textbar": "|", "textless": "<", "textgreater": ">",
    "textunderscore": "_", "textbraceleft": "{", "textbraceright": "}", "textdollar": "$",
    "textasciigrave": "`", "textasciiacute": "´", "textasciidieresis": "¨",
    "textasciimacron": "¯", "textnumero": "№", "textestimated": "℮", "textohm": "Ω",
    "textcelsius": "℃", "texttimes": "×", "textdiv": "÷", "textpm": "±",
    "textminus": "−", "textmho": "℧", "textleftarrow": "←", "textrightarrow": "→",
    "textuparrow": "↑", "textdownarrow": "↓", "textvisiblespace": "␣", "textdblhyphen": "⹀",
    "textsurd": "√", "textonesuperior": "¹", "texttwosuperior": "²",
    "textthreesuperior": "³", "textmusicalnote": "♪",
    "LaTeX": "LaTeX", "TeX": "TeX", "BibTeX": "BibTeX", "LaTeXe": "LaTeX2e", "XeTeX": "XeTeX",
    "slash": "/", "textslash": "/", "empty": "∅", "quad": " ", "qquad": " ",
    "enspace": " ", "thinspace": "\u2009", "nobreakspace": "\u00a0", "space": " ",
    "newline": " ", "linebreak": " ", "break": " ", "par": "\n\n",
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε",
    "varepsilon": "ε", "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι",
    "kappa": "κ", "varkappa": "ϰ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
    "omicron": "ο", "pi": "π", "varpi": "ϖ", "rho": "ρ", "varrho": "ϱ", "sigma": "σ",
    "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ",
    "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ",
    "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ",
    "Omega": "Ω", "digamma": "ϝ",
    "textalpha": "α", "textbeta": "β", "textgamma": "γ", "textdelta": "δ",
    "textepsilon": "ε", "textzeta": "ζ", "texteta": "η", "texttheta": "θ", "textiota": "ι",
    "textkappa": "κ", "textlambda": "λ", "textxi": "ξ", "textpi": "π",
    "textrho": "ρ", "textsigma": "σ", "texttau": "τ", "textupsilon": "υ", "textphi": "φ",
    "textchi": "χ", "textpsi": "ψ", "textomega": "ω", "textGamma": "Γ", "textDelta": "Δ",
    "textTheta": "Θ", "textLambda": "Λ", "textXi": "Ξ", "textPi": "Π", "textSigma": "Σ",
    "textUpsilon": "Υ", "textPhi": "Φ", "textPsi": "Ψ", "textOmega": "Ω",
    # math
    "pm": "±", "mp": "∓", "times": "×", "div": "÷", "cdot": "⋅", "cdots": "⋯",
    "ldotp": ".", "vdots": "⋮", "ddots": "⋱", "circ": "∘", "bullet": "∙", "ast": "∗",
    "star": "⋆", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠",
    "approx": "≈", "sim": "∼", "simeq": "≃", "cong": "≅", "equiv": "≡", "propto": "∝",
    "ll": "≪", "gg": "≫", "infty": "∞", "partial": "∂", "nabla": "∇", "sum": "∑",
    "prod": "∏", "int": "∫", "oint": "∮", "sqrt": "√", "surd": "√", "in": "∈",
    "notin": "∉", "ni": "∋", "subset": "⊂", "supset": "⊃", "subseteq": "⊆",
    "supseteq": "⊇", "cup": "∪", "cap": "∩", "emptyset": "∅", "varnothing": "∅",
    "forall": "∀", "exists": "∃", "neg": "¬", "lnot": "¬", "wedge": "∧", "land": "∧",
    "vee": "∨", "lor": "∨", "oplus": "⊕", "otimes": "⊗", "perp": "⊥", "parallel": "∥",
    "mid": "∣", "angle": "∠", "triangle": "△", "prime": "′", "hbar": "ℏ", "ell": "ℓ",
    "Re": "ℜ", "Im": "ℑ", "aleph": "ℵ", "wp": "℘", "rightarrow": "→", "to": "→",
    "leftarrow": "←", "gets": "←", "leftrightarrow": "↔", "Rightarrow": "⇒",
    "Leftarrow": "⇐", "Leftrightarrow": "⇔", "uparrow": "↑", "downarrow": "↓",
    "mapsto": "↦", "longrightarrow": "⟶", "longleftarrow": "⟵", "rightleftharpoons": "⇌",
    "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊",
    "rfloor": "⌋", "lbrace": "{", "rbrace": "}", "vert": "|", "Vert": "‖", "backslash": "\\",
    "ohm": "Ω", "micro": "µ", "textdegreecelsius": "℃", "diamond": "⋄", "dagger": "†",
    "ddagger": "‡", "top": "⊤", "bot": "⊥", "vdash": "⊢", "models": "⊨", "sharp": "♯",
    "flat": "♭", "natural": "♮", "checkmark": "✓", "setminus": "∖", "lesssim": "≲",
    "gtrsim": "≳", "nleq": "≰", "ngeq": "≱", "asymp": "≍", "doteq": "≐", "bigcup": "⋃",
    "bigcap": "⋂", "coprod": "∐", "smallsetminus": "∖", "colon": ":", "lvert": "|",
    "rvert": "|", "varpropto": "∝", "upmu": "μ", "textmugreek": "μ",
}

#: Commands whose argument is kept as text, the command itself dropped (markup).
_KEEP_ARG = frozenset(
    """textit emph textbf textsc textrm textsf texttt textup textsl textmd textnormal
    mathrm mathit mathbf mathsf mathtt mathcal mathbb mathfrak mathnormal boldsymbol bm
    text textrm mbox hbox fbox makebox emph uline underline mkbibemph mkbibitalic mkbibbold
    mkbibacro operatorname ensuremath NoCaseChange nocase textcase MakeUppercase MakeLowercase
    uppercase lowercase textsubscript textsuperscript mkbibsuperscript mkbibsubscript
    enquote mkbibquote textenglish foreignlanguage hyphenation textlatin textgreek
    textooo tnote ifmmode protect""".split()
)
#: Commands whose (first) argument is dropped with them.
_DROP_ARG = frozenset("noopsort sortnoop SortNoop noop label begin end hspace vspace".split())
#: Commands whose argument is taken verbatim (no decoding inside).
_VERBATIM_ARG = frozenset("url nolinkurl path doi".split())
#: Font switches and other commands that print nothing.
_SWITCHES = frozenset(
    """it bf em sc rm sf tt sl up md normalfont itshape bfseries scshape upshape rmfamily
    sffamily ttfamily mdseries slshape relax nobreak xspace displaystyle textstyle
    scriptstyle scriptscriptstyle boldmath unboldmath small large Large LARGE footnotesize
    scriptsize tiny huge Huge normalsize centering noindent raggedright raggedleft
    allowbreak ignorespaces unskip left right big Big bigg Bigg bigl bigr Bigl Bigr
    limits nolimits mathstrut strut hfill vfill null phantom""".split()
)
_SUPERSCRIPT_COMMANDS = frozenset({"textsuperscript", "mkbibsuperscript"})
_SUBSCRIPT_COMMANDS = frozenset({"textsubscript", "mkbibsubscript"})

_SUPERSCRIPTS: dict[str, str] = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWβγδθιφχ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵝᵞᵟᶿᶥᵠᵡ",
        strict=True,
    )
)
_SUBSCRIPTS: dict[str, str] = dict(
    zip(
        "0123456789+-=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)


def superscript(text: str) -> str:
    """``"2"`` -> ``"²"``; text that has no complete superscript form is returned as is."""
    if text and all(ch in _SUPERSCRIPTS for ch in text):
        return "".join(_SUPERSCRIPTS[ch] for ch in text)
    return text


def subscript(text: str) -> str:
    """``"2"`` -> ``"₂"``; text that has no complete subscript form is returned as is."""
    if text and all(ch in _SUBSCRIPTS for ch in text):
        return "".join(_SUBSCRIPTS[ch] for ch in text)
    return text


# ============================================================================================
# Decoding
# ============================================================================================

#: Whether a string holds anything LaTeX would treat specially.
_NEEDS_DECODE = re.compile(r"[\\{}$~]|--|``|''")
_TEXT_STOP = re.compile(r"[\\{}$~\-`']")
_MATH_STOP = re.compile(r"[\\{}$~^_]")
_CONTROL_WORD = re.compile(r"[A-Za-z]+\*?")
_ESCAPED = {"&": "&", "%": "%", "$": "$", "#": "#", "_": "_", "{": "{", "}": "}", "@": ""}
_SMALL_SPACES = {",": "\u2009", ";": " ", ":": " ", ">": " ", " ": " ", "\n": " ", "\t": " ",
                 "!": "", "/": "", "-": "", "\\": " "}
_COMBINING = re.compile("[\u0300-\u036f\u20d0-\u20ff]")


def needs_decoding(text: str) -> bool:
    """Whether :func:`decode_latex` would change ``text`` at all (cheap)."""
    return _NEEDS_DECODE.search(text) is not None


def decode_latex(text: str) -> str:
    """The Unicode that the LaTeX in ``text`` prints (braces dropped, accents combined).

    Unknown commands are kept as written (``\\frac{a}{b}`` stays), so that nothing is lost
    silently; whitespace is left as given (the caller collapses it).
    """
    if _NEEDS_DECODE.search(text) is None:
        return text
    text = simplify_latex(text)
    if _NEEDS_DECODE.search(text) is None:
        return text
    out, _ = _parse(text, 0, len(text), "", False)
    if not out.isascii() and _COMBINING.search(out):
        out = unicodedata.normalize("NFC", out)
    return out


#: The LaTeX most .bib files (and ExoRef's own export) use for single characters:
#: ``{\\"u}``, ``{\\"{u}}``, ``{\\ss}``, ``{$\\beta$}``, ``\\&``.  One pass of this pattern
#: replaces them before the general parser has to look at the text at all.
_SIMPLE_TOKEN = re.compile(
    r"\{\\([\"'`^~=.])\s*(\{[A-Za-z]\}|[A-Za-z])\}"
    r"|\{\\([A-Za-z]{1,24})\}"
    r"|\{\$\\([A-Za-z]{1,24})\$\}"
    r"|\\([&%#_])"
)
#: Commands whose character may stand for itself in the text that is decoded further.
_SAFE_SYMBOLS = {name: ch for name, ch in _SYMBOLS.items()
                 if ch not in "\\{}$~-`'" and ch != "\n\n" and "\n" not in ch}
_COMMAND_BEFORE = re.compile(r"\\[A-Za-z]+\*?\s*$")


def _simple(m: re.Match[str]) -> str:
    accent, letter, symbol, math_symbol, escaped = m.groups()
    if escaped is not None:
        return escaped
    if accent is not None:
        base = letter.strip("{}")
        out = unicodedata.normalize("NFC", base + _SYMBOL_ACCENTS[accent])
        return out if len(out) == 1 else m.group()
    name = symbol if symbol is not None else math_symbol
    return _SAFE_SYMBOLS.get(name, m.group())


def simplify_latex(text: str) -> str:
    """``text`` with the simple one-character LaTeX tokens replaced by their characters
    (``M{\\"u}ller`` -> ``Müller``); everything else is left for :func:`decode_latex`.

    A token right after a command (``\\emph{\\"u}``) is the command's argument and left alone.
    """
    if "\\" not in text:
        return text
    pieces: list[str] = []
    pos = 0
    for m in _SIMPLE_TOKEN.finditer(text):
        start = m.start()
        if m.group(5) is None and start and text[start - 1].isalpha() \
                and _COMMAND_BEFORE.search(text, max(0, start - 30), start):
            continue
        pieces.append(text[pos:start])
        pieces.append(_simple(m))
        pos = m.end()
    if not pieces:
        return text
    pieces.append(text[pos:])
    return "".join(pieces)


def _parse(s: str, i: int, n: int, closer: str, math: bool) -> tuple[str, int]:
    """Decode ``s[i:]`` up to ``closer`` ("}", "$", "$$", "\\)" or "" for the end)."""
    parts: list[str] = []
    stop = _MATH_STOP if math else _TEXT_STOP
    while i < n:
        m = stop.search(s, i, n)
        if m is None:
            parts.append(s[i:n])
            return "".join(parts), n
        j = m.start()
        if j > i:
            parts.append(s[i:j])
        c = s[j]
        if c == "{":
            inner, i = _parse(s, j + 1, n, "}", math)
            parts.append(inner)
        elif c == "}":
            i = j + 1
            if closer == "}":
                return "".join(parts), i
            # a stray closing brace: dropped
        elif c == "$":
            if math:
                if closer == "$$" and s.startswith("$$", j):
                    return "".join(parts), j + 2
                if closer in ("$", "$$"):
                    return "".join(parts), j + 1
                i = j + 1
            else:
                display = s.startswith("$$", j)
                inner, i = _parse(s, j + (2 if display else 1), n, "$$" if display else "$", True)
                parts.append(inner)
        elif c == "~":
            parts.append(" " if math else "\u00a0")
            i = j + 1
        elif c == "-":
            if s.startswith("---", j):
                parts.append("—")
                i = j + 3
            elif s.startswith("--", j):
                parts.append("–")
                i = j + 2
            else:
                parts.append("-")
                i = j + 1
        elif c == "`":
            if s.startswith("``", j):
                parts.append("“")
                i = j + 2
            else:
                parts.append("`")
                i = j + 1
        elif c == "'":
            if s.startswith("''", j):
                parts.append("”")
                i = j + 2
            else:
                parts.append("'")
                i = j + 1
        elif c in "^_":  # math only (\\sp and \\sb are handled as commands)
            arg, i = _argument(s, j + 1, n, True)
            parts.append(superscript(arg) if c == "^" else subscript(arg))
        else:  # backslash
            if math and closer == "\\)" and s.startswith("\\)", j):
                return "".join(parts), j + 2
            piece, i = _command(s, j, n, math)
            parts.append(piece)
    return "".join(parts), n


def _argument(s: str, k: int, n: int, math: bool) -> tuple[str, int]:
    """One TeX argument at ``k``: a brace group (decoded), a command, or a single character.
    Spaces before it are skipped, as TeX does for undelimited arguments."""
    while k < n and s[k] == " ":
        k += 1
    if k >= n:
        return "", k
    c = s[k]
    if c == "{":
        return _parse(s, k + 1, n, "}", math)
    if c == "\\":
        return _command(s, k, n, math)
    if c in "}$":
        return "", k
    return c, k + 1


def _raw_group(s: str, k: int, n: int) -> tuple[str | None, int]:
    """The text of the brace group at ``k`` exactly as written, or ``None`` if there is none."""
    if k >= n or s[k] != "{":
        return None, k
    depth = 0
    pos = k
    while pos < n:
        ch = s[pos]
        if ch == "\\":
            pos += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return s[k + 1 : pos], pos + 1
        pos += 1
    return s[k + 1 : n], n


def _accented(base: str, mark: str, spacing: str) -> str:
    if not base:
        return spacing
    first = base[0]
    if first == "ı":
        first = "i"
    elif first == "ȷ":
        first = "j"
    rest = base[1:]
    if not rest or _COMBINING.fullmatch(rest[0]):
        # one letter with its accents so far: the new accent goes on top
        count = 0
        while count < len(rest) and _COMBINING.match(rest[count]):
            count += 1
        return first + rest[:count] + mark + rest[count:]
    return first + mark + rest


def _skip_spaces(s: str, k: int, n: int) -> int:
    while k < n and s[k] in " \t\n":
        k += 1
    return k


def _command(s: str, j: int, n: int, math: bool) -> tuple[str, int]:
    """Decode the command starting with the backslash at ``j``."""
    k = j + 1
    if k >= n:
        return "\\", n
    c = s[k]
    if not ("a" <= c <= "z" or "A" <= c <= "Z"):
        if c in _SYMBOL_ACCENTS:
            if math and c in "^~'`":
                # in math mode these are not accents
                return c, k + 1
            arg, end = _argument(s, k + 1, n, math)
            return _accented(arg, _SYMBOL_ACCENTS[c], _SPACING_ACCENTS[c]), end
        if c in _ESCAPED:
            return _ESCAPED[c], k + 1
        if c in _SMALL_SPACES:
            return _SMALL_SPACES[c], k + 1
        if c == "(":
            return _parse(s, k + 1, n, "\\)", True)
        if c in "[])":
            return "", k + 1
        return c, k + 1
    m = _CONTROL_WORD.match(s, k)
    assert m is not None
    name = m.group()
    if name.endswith("*"):
        name = name[:-1]
    end = m.end()
    after = _skip_spaces(s, end, n)
    if math and name in ("sp", "sb"):
        arg, stop = _argument(s, after, n, True)
        return (superscript(arg) if name == "sp" else subscript(arg)), stop
    if name in _SYMBOLS:
        if s.startswith("{}", after):
            after += 2
        return _SYMBOLS[name], after
    if name in _LETTER_ACCENTS:
        arg, stop = _argument(s, after, n, math)
        return _accented(arg, _LETTER_ACCENTS[name], ""), stop
    if name in _KEEP_ARG:
        if after < n and s[after] == "{":
            inner, stop = _parse(s, after + 1, n, "}", math or name.startswith("math"))
            if name in _SUPERSCRIPT_COMMANDS:
                return superscript(inner), stop
            if name in _SUBSCRIPT_COMMANDS:
                return subscript(inner), stop
            if name in ("enquote", "mkbibquote"):
                return f"“{inner}”", stop
            if name == "foreignlanguage":  # \foreignlanguage{lang}{text}
                text, stop2 = _argument(s, _skip_spaces(s, stop, n), n, math)
                return text, stop2
            return inner, stop
        return "", after
    if name in _SWITCHES:
        return "", after
    if name in _MATH_ACCENTS:
        arg, stop = _argument(s, after, n, True)
        return _accented(arg, _MATH_ACCENTS[name], ""), stop
    if name in _VERBATIM_ARG:
        raw, stop = _raw_group(s, after, n)
        return (raw if raw is not None else ""), stop
    if name in _DROP_ARG:
        _raw, stop = _raw_group(s, after, n)
        return "", stop
    if name == "href":
        _url, stop = _raw_group(s, after, n)
        return _argument(s, _skip_spaces(s, stop, n), n, math)
    if name == "ElsevierGlyph":
        raw, stop = _raw_group(s, after, n)
        if raw is not None and re.fullmatch(r"[0-9A-Fa-f]{4,5}", raw):
            return chr(int(raw, 16)), stop
    if name == "char":
        num = re.match(r"\"([0-9A-Fa-f]+)|'([0-7]+)|(\d+)", s[after:])
        if num:
            value = int(num.group(1), 16) if num.group(1) else (
                int(num.group(2), 8) if num.group(2) else int(num.group(3)))
            if 0 < value < 0x110000:
                return chr(value), after + num.end()
    # Unknown: keep the command and its brace arguments as written.
    pieces = ["\\", m.group()]
    stop = end
    while stop < n and s[stop] == "{":
        raw, stop = _raw_group(s, stop, n)
        pieces.append("{" + (raw or "") + "}")
    return "".join(pieces), stop


# ============================================================================================
# Encoding
# ============================================================================================

_REVERSE_SYMBOL_ACCENTS = {v: k for k, v in _SYMBOL_ACCENTS.items()}
_REVERSE_LETTER_ACCENTS = {v: k for k, v in _LETTER_ACCENTS.items() if len(k) == 1}


def _accent_command(mark: str, base: str) -> str | None:
    """``{\\"u}`` for u + diaeresis; ``None`` when LaTeX has no text accent for ``mark``."""
    if mark in _REVERSE_SYMBOL_ACCENTS:
        return "{\\" + _REVERSE_SYMBOL_ACCENTS[mark] + base + "}"
    if mark in _REVERSE_LETTER_ACCENTS:
        return "{\\" + _REVERSE_LETTER_ACCENTS[mark] + "{" + base + "}}"
    return None


def _latex_for_decomposed(base: str, marks: str) -> str | None:
    """``{\\'i}``, ``{\\={{\\"u}}}``: a letter with its accents, innermost first.

    Accents on accents wrap the inner one in a brace group, so that biber (which turns the
    inner one into UTF-8) writes ``\\={ü}`` rather than ``\\=ü``, which pdfLaTeX cannot read.
    """
    out = base
    for mark in marks:
        wrapped = _accent_command(mark, out if out == base else "{" + out + "}")
        if wrapped is None:
            return None
        out = wrapped
    return out


#: Characters written with a command, in text mode.
_TEXT_ENCODE: dict[str, str] = {
    "ß": "{\\ss}", "ẞ": "{\\SS}", "ø": "{\\o}", "Ø": "{\\O}", "æ": "{\\ae}", "Æ": "{\\AE}",
    "œ": "{\\oe}", "Œ": "{\\OE}", "ł": "{\\l}", "Ł": "{\\L}", "ı": "{\\i}", "ȷ": "{\\j}",
    "ð": "{\\dh}", "Ð": "{\\DH}", "þ": "{\\th}", "Þ": "{\\TH}", "đ": "{\\dj}", "Đ": "{\\DJ}",
    "ŋ": "{\\ng}", "Ŋ": "{\\NG}", "ĳ": "{\\ij}", "Ĳ": "{\\IJ}",
    "–": "--", "—": "---", "“": "``", "”": "''", "‘": "{\\textquoteleft}",
    "’": "{\\textquoteright}", "‚": "{\\quotesinglbase}", "„": "{\\quotedblbase}",
    "«": "{\\guillemotleft}", "»": "{\\guillemotright}", "‹": "{\\guilsinglleft}",
    "›": "{\\guilsinglright}", "¡": "{\\textexclamdown}", "¿": "{\\textquestiondown}",
    "®": "{\\textregistered}", "™": "{\\texttrademark}", "©": "{\\textcopyright}",
    "§": "{\\S}", "¶": "{\\P}", "†": "{\\dag}", "‡": "{\\ddag}", "•": "{\\textbullet}",
    "…": "{\\ldots}", "°": "{\\textdegree}", "£": "{\\pounds}", "€": "{\\texteuro}",
    "¥": "{\\textyen}", "¢": "{\\textcent}", "µ": "{\\textmu}", "‰": "{\\textperthousand}",
    "½": "{\\textonehalf}", "¼": "{\\textonequarter}", "¾": "{\\textthreequarters}",
    "ª": "{\\textordfeminine}", "º": "{\\textordmasculine}", "¬": "{\\textlnot}",
    "¦": "{\\textbrokenbar}", "·": "{\\textperiodcentered}", "´": "{\\textasciiacute}",
    "¨": "{\\textasciidieresis}", "¯": "{\\textasciimacron}", "\u00a0": "~",
    "\u2009": "{\\,}", "№": "{\\textnumero}", "℃": "{\\textcelsius}",
    "¹": "\\textsuperscript{1}", "²": "\\textsuperscript{2}", "³": "\\textsuperscript{3}",
}
#: Characters written in math mode.
_MATH_ENCODE: dict[str, str] = {}
for _name in (
    "alpha beta gamma delta varepsilon zeta eta theta vartheta iota kappa varkappa lambda mu "
    "nu xi pi varpi rho varrho sigma varsigma tau upsilon phi chi psi omega Gamma Delta Theta "
    "Lambda Xi Pi Sigma Upsilon Phi Psi Omega pm mp times div cdot cdots vdots ddots circ "
    "bullet ast star leq geq neq approx sim simeq cong equiv propto ll gg infty partial nabla "
    "sum prod int oint sqrt in notin ni subset supset subseteq supseteq cup cap emptyset "
    "forall exists neg wedge vee oplus otimes perp parallel mid angle triangle prime hbar ell "
    "Re Im aleph wp rightarrow leftarrow leftrightarrow Rightarrow Leftarrow Leftrightarrow "
    "uparrow downarrow mapsto longrightarrow longleftarrow rightleftharpoons langle rangle "
    "lceil rceil lfloor rfloor Vert diamond top vdash models sharp flat natural checkmark "
    "setminus lesssim gtrsim nleq ngeq asymp doteq bigcup bigcap coprod digamma".split()
):
    _ch = _SYMBOLS[_name]
    _MATH_ENCODE.setdefault(_ch, "{$\\" + _name + "$}")
_MATH_ENCODE["−"] = "{\\textminus}"
_MATH_ENCODE["∓"] = "{$\\mp$}"
for _ascii, _sup in _SUPERSCRIPTS.items():
    _inner = _ascii if _ascii.isascii() else _MATH_ENCODE[_ascii]
    _MATH_ENCODE.setdefault(_sup, "\\textsuperscript{" + _inner + "}")
for _ascii, _sub in _SUBSCRIPTS.items():
    _inner = _ascii if _ascii.isascii() else _MATH_ENCODE[_ascii]
    _MATH_ENCODE.setdefault(_sub, "\\textsubscript{" + _inner + "}")
_MATH_ENCODE.pop("∅", None)
_MATH_ENCODE["∅"] = "{$\\emptyset$}"

#: ASCII characters that LaTeX or BibTeX treat specially.
_ASCII_ENCODE: dict[str, str] = {
    "\\": "{\\textbackslash}",
    "{": "{\\textbraceleft}",
    "}": "{\\textbraceright}",
    "&": "\\&",
    "%": "\\%",
    "$": "\\$",
    "#": "\\#",
    "_": "\\_",
    "~": "{\\textasciitilde}",
    "^": "{\\textasciicircum}",
    "<": "{\\textless}",
    ">": "{\\textgreater}",
    "|": "{\\textbar}",
}


def _build_tables() -> tuple[dict[int, str], dict[int, str]]:
    ascii_table = {ord(k): v for k, v in _ASCII_ENCODE.items()}
    full = dict(ascii_table)
    ranges = [(0x00C0, 0x0250), (0x1E00, 0x1F00)]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            ch = chr(cp)
            decomposed = unicodedata.normalize("NFD", ch)
            base, marks = decomposed[0], decomposed[1:]
            if marks and base.isascii() and base.isalpha():
                latex = _latex_for_decomposed(base, marks)
                if latex is not None:
                    full[cp] = latex
    for ch, latex in _TEXT_ENCODE.items():
        full[ord(ch)] = latex
    for ch, latex in _MATH_ENCODE.items():
        full.setdefault(ord(ch), latex)
    return ascii_table, full


_ASCII_TABLE, _FULL_TABLE = _build_tables()
#: In raw-UTF-8 output only these non-ASCII characters are still written as LaTeX: they
#: would otherwise read back as something else (a no-break space stays a no-break space).
_UNICODE_TABLE = dict(_ASCII_TABLE)

#: Places between two characters whose LaTeX would run together into a ligature.
_LIGATURE = re.compile(r"(?<=[-–—])(?=[-–—])|(?<=[`“])(?=[`“])|(?<=['”])(?=['”])|"
                       r"(?<=[!?])(?=`)|(?<=,)(?=,)")
_COMBINING_RUN = re.compile("(.)([\u0300-\u036f\u20d0-\u20ff]+)")


def _combining_latex(base: str, marks: str) -> str | None:
    """LaTeX for a letter followed by combining marks that have no precomposed form (``1̅``)."""
    if base.isascii() and base.isalnum():
        latex = _latex_for_decomposed(base, marks)
        if latex is not None:
            return latex
        if marks == "\u0305":
            return "{$\\overline{" + base + "}$}"
    return None




def _translate(text: str, table: dict[int, str]) -> str:
    """``text`` through ``table``, with ``{}`` between characters that TeX would join into
    a ligature (``--``, ``–-``, `````, ``''``, ``!``` ...) once translated."""
    if _may_ligature(text) and _LIGATURE.search(text) is not None:
        return "{}".join(_substitute(part, table) for part in _LIGATURE.split(text))
    return _substitute(text, table)


def _may_ligature(text: str) -> bool:
    """A fast first test for :data:`_LIGATURE` (which looks behind, and is slow on long text):
    plain ``in`` scans, which are much faster than any regular expression here."""
    return ("--" in text or "``" in text or "''" in text or ",," in text or "!`" in text
            or "?`" in text or (not text.isascii()
                                and ("–" in text or "—" in text or "“" in text or "”" in text)))


def _substitute(text: str, table: dict[int, str]) -> str:
    """Replace the characters ``table`` maps; a pattern finds them (fast on long text with
    few of them), then each is looked up."""
    pattern = _ASCII_CHARS if table is _ASCII_TABLE or text.isascii() else _ANY_MAPPED
    return pattern.sub(lambda m: table.get(ord(m.group()), m.group()), text)


#: Deleting the special characters is the fastest way to learn whether ASCII text has any.
_DROP_ASCII_SPECIALS: dict[int, None] = dict.fromkeys(map(ord, "\\{}&%$#_~^<>|"))
_ASCII_CHARS = re.compile(r"[\\{}&%$#_~^<>|]")
_ANY_MAPPED = re.compile(r"[\\{}&%$#_~^<>|\u0080-\U0010ffff]")


def encode_latex(text: str, *, unicode: bool = False) -> str:
    """``text`` as LaTeX for a BibTeX field that holds plain text.

    The characters ``\\ { } & % $ # _ ~ ^`` (and ``< > |``, which print as other glyphs in
    LaTeX's default font encoding) are escaped; literal ``--``, ``````, ``''`` are kept
    from turning into ligatures.  With ``unicode=False`` letters outside ASCII become LaTeX
    (``ü`` -> ``{\\"u}``, ``β`` -> ``{$\\beta$}``, ``–`` -> ``--``); characters without a LaTeX
    form are kept as UTF-8.  With ``unicode=True`` they are all kept as UTF-8.
    """
    if len(text) <= _SHORT:
        return _encode_short(text, unicode)
    return _encode(text, unicode)


#: Strings up to this length (names, journals, keywords, numbers) repeat across a library:
#: their encodings are cached.
_SHORT = 64


@lru_cache(maxsize=65536)
def _encode_short(text: str, unicode: bool) -> str:
    return _encode(text, unicode)


def _encode(text: str, unicode: bool) -> str:
    if text.isascii():
        if len(text.translate(_DROP_ASCII_SPECIALS)) == len(text) and "--" not in text \
                and "``" not in text and "''" not in text and ",," not in text \
                and "!`" not in text and "?`" not in text:
            return text
        return _translate(text, _ASCII_TABLE)
    if unicode:
        return _translate(text, _UNICODE_TABLE)
    if _COMBINING.search(text) is None:
        return _translate(text, _FULL_TABLE)
    text = unicodedata.normalize("NFC", text)
    pieces: list[str] = []
    pos = 0
    for m in _COMBINING_RUN.finditer(text):
        latex = _combining_latex(m.group(1), m.group(2))
        if latex is None:
            continue
        pieces.append(_translate(text[pos : m.start()], _FULL_TABLE))
        pieces.append(latex)
        pos = m.end()
    pieces.append(_translate(text[pos:], _FULL_TABLE))
    return "".join(pieces)


# -- title case protection -------------------------------------------------------------------

_WORD_EDGE = re.compile(r"^([\"'“‘(\[«]*)(.*?)([\"'”’)\].,;:!?»]*)$", re.DOTALL)
_SEGMENTS = re.compile(r"[-/–‐]")
#: A cheap test whether a title can hold anything to protect at all.
_PROTECT_HINT = re.compile(r"\w[^\W\d_a-z]|\d|(?<![\w-])[^\W\d_a-z](?![\w])", re.UNICODE)


_DIGIT = re.compile(r"\d")


def _segment_needs_protection(segment: str) -> bool:
    if not segment:
        return False
    rest = segment[1:]
    if rest != rest.lower():
        return True  # MSC, mRNA, iPSC, McDonald, InAs
    first = segment[0]
    if first != first.lower() and (not rest or _DIGIT.search(rest) is not None):
        return True  # T (cells), X (ray), Th17
    return False


def needs_case_protection(word: str, *, first: bool = False) -> bool:
    """Whether a title word must keep its case: acronyms, gene and protein names.

    ``MSC``, ``IL-1β``, ``CD63``, ``TNF-α``, ``mRNA``, ``T`` (in "T cells") yes; ``Exosomes``
    or ``Cell-Derived`` no (a style may lower-case them).  The first word of a title is
    protected only for capitals after its first letter.
    """
    if word == word.lower():
        return False
    core = _WORD_EDGE.match(word)
    text = core.group(2) if core else word
    segments = _SEGMENTS.split(text)
    if first and len(segments) == 1 and len(text) == 1:
        return False
    return any(_segment_needs_protection(seg) for seg in segments)


def encode_title(text: str, *, unicode: bool = False) -> str:
    """:func:`encode_latex` plus braces around the words whose case must be kept."""
    if _PROTECT_HINT.search(text) is None:
        return encode_latex(text, unicode=unicode)
    words = text.split(" ")
    out: list[str] = []
    plain: list[str] = []  # a run of words that need no braces, encoded in one go
    first = True
    for word in words:
        if word and needs_case_protection(word, first=first):
            if plain:
                out.append(encode_latex(" ".join(plain), unicode=unicode))
                plain = []
            m = _WORD_EDGE.match(word)
            assert m is not None
            lead, core, trail = m.groups()
            out.append(
                encode_latex(lead, unicode=unicode)
                + "{"
                + encode_latex(core, unicode=unicode)
                + "}"
                + encode_latex(trail, unicode=unicode)
            )
        else:
            plain.append(word)
        if word:
            first = False
    if plain:
        out.append(encode_latex(" ".join(plain), unicode=unicode))
    # runs and protected words alternate; a ligature cannot form across the joining space
    return " ".join(out)


# -- verbatim fields ---------------------------------------------------------------------------

_UNSAFE_VERBATIM = re.compile(r"[{}\\\t\n\r]")


def encode_verbatim(value: str) -> str:
    """A DOI, URL or file path for a verbatim field: written as is, except for what would
    break the field or ``\\url`` (braces, backslashes, line breaks), which is %-encoded."""
    if _UNSAFE_VERBATIM.search(value) is None:
        return value
    return _UNSAFE_VERBATIM.sub(lambda m: f"%{ord(m.group()):02X}", value)
