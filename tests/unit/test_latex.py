from __future__ import annotations

import pytest

from exoref.formats.latex import (
    decode_latex,
    encode_latex,
    encode_title,
    encode_verbatim,
    needs_case_protection,
    needs_decoding,
)


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r'{\"u}ber', "über"),
        (r'\"{u}', "ü"),
        (r'\"u', "ü"),
        (r"{\ss}", "ß"),
        (r"{\o}", "ø"),
        (r"{\O}resund", "Øresund"),
        (r"\textbeta{}", "β"),
        (r"$\beta$-cells", "β-cells"),
        (r"10--20", "10–20"),
        (r"yes---no", "yes—no"),
        (r"Fig.~1", "Fig.\u00a01"),
        (r"R\&D", "R&D"),
        (r"50\%", "50%"),
        (r"{\'\i}", "í"),
        (r"\'{\i}", "í"),
        (r"\c{c}", "ç"),
        (r"\c c", "ç"),
        (r"\v{s}", "š"),
        (r"{\r a}", "å"),
        (r"\k{a}", "ą"),
        (r"\H{o}", "ő"),
        (r"{\~ Z}", "Z̃"),
        (r"$\langle{}00\overline{1}\rangle$", "⟨001̅⟩"),
        (r"{Cu$_2$O}", "Cu₂O"),
        (r"``quoted''", "“quoted”"),
        (r"a\&b\%c\$d\#e\_f\textasciitilde{}\textasciicircum{}\textbackslash{}", "a&b%c$d#e_f~^\\"),
        (r"\textit{in vivo} and \emph{in vitro}", "in vivo and in vitro"),
        (r"\url{https://example.org/a_b}", "https://example.org/a_b"),
        (r"\href{https://example.org}{Example}", "Example"),
        (r"\ElsevierGlyph{2014}", "—"),
        (r"{{MSC}} exosomes", "MSC exosomes"),
        (r"IL-1{$\beta$}", "IL-1β"),
        (r"\textsuperscript{2}", "²"),
        (r"\textsubscript{2}", "₂"),
        (r"a\begin{it}b\end{it}c", "abc"),
        ("plain text", "plain text"),
    ],
)
def test_decode(latex: str, text: str) -> None:
    assert decode_latex(latex) == text


def test_unknown_commands_are_kept_as_written() -> None:
    assert decode_latex(r"unknown: \unknown") == r"unknown: \unknown"
    assert decode_latex(r"\frac{a}{b}") == r"\frac{a}{b}"


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("Müller", r'M{\"u}ller'),
        ("Søgaard", r"S{\o}gaard"),
        ("Straße", r"Stra{\ss}e"),
        ("β-cells", r"{$\beta$}-cells"),
        ("10–20", "10--20"),
        ("yes—no", "yes---no"),
        ("R&D 50% $5 #1 a_b", r"R\&D 50\% \$5 \#1 a\_b"),
        ("~^", r"{\textasciitilde}{\textasciicircum}"),
        ("{x}", r"{\textbraceleft}x{\textbraceright}"),
        ("a\\b", r"a{\textbackslash}b"),
        ("--", "-{}-"),
        ("ǖ", r'{\={{\"u}}}'),
        ("í", r"{\'i}"),
    ],
)
def test_encode(text: str, latex: str) -> None:
    assert encode_latex(text) == latex
    assert decode_latex(latex) == text


def test_raw_utf8_keeps_letters_but_escapes_specials() -> None:
    assert encode_latex("Müller & β", unicode=True) == r"Müller \& β"


def test_pdf_text_never_injects_commands() -> None:
    title = r"A study \input{/etc/passwd} of \write18{rm -rf ~} exosomes"
    encoded = encode_title(title)
    assert "\\input" not in encoded
    assert "\\write" not in encoded
    assert "{\\textbackslash}input{\\textbraceleft}/etc/passwd{\\textbraceright}" in encoded
    assert decode_latex(encoded) == title


@pytest.mark.parametrize("word", ["MSC", "IL-1β", "CD63", "TNF-α", "mRNA", "iPSCs", "NF-κB",
                                  "CD63+", "T", "Th17", "X-ray", "(MSC)", "GvHD:"])
def test_acronyms_and_gene_names_are_protected(word: str) -> None:
    assert needs_case_protection(word)


@pytest.mark.parametrize("word", ["Exosomes", "exosomes", "Cell-Derived", "therapy,", "A"])
def test_ordinary_words_are_not_protected(word: str) -> None:
    assert not needs_case_protection(word, first=word == "A")


def test_title_protection() -> None:
    title = "MSC-derived exosomes carry IL-1β, TNF-α and CD63 in T cells"
    assert encode_title(title) == (
        r"{MSC-derived} exosomes carry {IL-1{$\beta$}}, {TNF-{$\alpha$}} and {CD63} in {T} cells"
    )
    assert decode_latex(encode_title(title)) == title


def test_verbatim_fields_only_escape_what_breaks_them() -> None:
    assert encode_verbatim("10.1000/a_b%c#d") == "10.1000/a_b%c#d"
    assert encode_verbatim("https://x.org/{a}\\b") == "https://x.org/%7Ba%7D%5Cb"


def test_needs_decoding_is_cheap_and_right() -> None:
    assert not needs_decoding("Plain title - with one hyphen")
    assert needs_decoding("a--b")
    assert needs_decoding("M{\\\"u}ller")
