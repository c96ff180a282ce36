from __future__ import annotations

from exoref.domain.citekeys import family_key, make_citekey, unique_citekey
from tests.conftest import make_ref


def test_default_pattern_is_author_year_first_significant_word() -> None:
    ref = make_ref(
        "Mesenchymal stem cell-derived exosomes: A new therapeutic approach to osteoarthritis?",
        "Elaheh Mianehsaz", "Hamid Reza Mirzaei", year=2019,
    )
    assert make_citekey(ref) == "mianehsaz2019mesenchymal"


def test_stop_words_particles_and_accents_are_dropped() -> None:
    ref = make_ref("The role of exosomes in GVHD", "Jan van der Berg", year=2021)
    assert make_citekey(ref) == "berg2021role"
    assert family_key("Müller") == "muller"
    assert family_key("Ó Briain") == "obriain"
    assert family_key("Mahjoubin-Tehran") == "mahjoubintehran"


def test_missing_parts_still_give_a_key() -> None:
    assert make_citekey(make_ref("", year=None)) == "ref"
    assert make_citekey(make_ref("Exosomes", year=None)) == "exosomes"


def test_custom_pattern() -> None:
    ref = make_ref("Exosomes for knee osteoarthritis", "A Smith", "B Jones", "C Lee", year=2020)
    assert make_citekey(ref, "[Auth]_[year]") == "Smith_2020"
    assert make_citekey(ref, "[authors2][year]") == "smithjonesetal2020"
    assert make_citekey(ref, "[auth][shorttitle]") == "smithexosomeskneeosteoarthritis"


def test_unique_suffixes_follow_a_b_c() -> None:
    taken = {"smith2020"}
    assert unique_citekey("smith2020", taken) == "smith2020a"
    taken |= {"smith2020a", "smith2020b"}
    assert unique_citekey("smith2020", taken) == "smith2020c"
    assert unique_citekey("jones2020", taken) == "jones2020"
