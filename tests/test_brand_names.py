"""Names from outside the US: each medication class is found under the brand (or, for recreational
substances, the local) names used in the UK, the Netherlands and the EU where they differ from the
US ones. The practices the project started from are Dutch, and an intake from Amsterdam reads
"Temesta", "Seroxat" or "paddo's", not "Ativan", "Paxil" or "magic mushrooms".

One row per class at least; a class whose names are the same everywhere is listed with its reason.
"""

from __future__ import annotations

import pytest

# class -> [(written as on a UK / NL / EU intake, the generic it must be read as)]
NAMES = {
    "alcohol": [("bier", "ethanol"), ("wijn", "ethanol")],
    "anticonvulsant_mood_stabiliser": [("Depakine", "valproate"), ("Epilim", "valproate")],
    "anticoagulant": [("Sintrom", "acenocoumarol"), ("fenprocoumon", "phenprocoumon")],
    "antihypertensive": [("Istin", "amlodipine"), ("Tritace", "ramipril")],
    "antipsychotic": [("Biquelle XL", "quetiapine"), ("Haldol", "haloperidol")],
    "arylcyclohexylamine": [("Ketanest", "esketamine")],
    "barbiturate": [("Luminal", "phenobarbital")],
    "benzodiazepine": [("Temesta", "lorazepam"), ("Seresta", "oxazepam"), ("Loramet", "lormetazepam"), ("Dormicum", "midazolam")],
    "beta_blocker": [("Selokeen", "metoprolol"), ("Half-Inderal", "propranolol")],
    "caffeine": [("Pro Plus", "caffeine"), ("koffie", "caffeine")],
    "cannabidiol": [("Epidyolex", "cannabidiol")],
    "cannabis": [("wiet", "cannabis"), ("hasj", "cannabis"), ("Sativex", "cannabis")],
    "cathinone": [("3-MMC", "synthetic cathinones")],
    "cyp2d6_strong_inhibitor": [("Seroxat", "paroxetine")],
    "dextromethorphan": [("Benylin Dry Cough", "dextromethorphan")],
    "entactogen": [("XTC", "mdma")],
    "fluoxetine_long_half_life": [("Oxactin", "fluoxetine")],
    "gabapentinoid": [("Alzain", "pregabalin")],
    "ghb": [("Alcover", "sodium oxybate")],
    "lithium": [("Priadel", "lithium carbonate"), ("Camcolit", "lithium carbonate"), ("Liskonum", "lithium carbonate")],
    "loperamide": [("Arret", "loperamide"), ("Norimode", "loperamide")],
    "maoi": [("Aurorix", "moclobemide"), ("Zyvoxid", "linezolid")],
    "maoi_label_contraindication": [("Molipaxin", "trazodone"), ("Trittico", "trazodone"), ("Galpseud", "pseudoephedrine")],
    "ndri": [("Elontril", "bupropion")],
    "nitrous_oxide": [("Entonox", "nitrous oxide")],
    "nnrti_efavirenz": [("Stocrin", "efavirenz")],
    "no_listed_interaction": [("Calpol", "paracetamol"), ("Nurofen", "ibuprofen")],
    "noradrenergic_reuptake_inhibitor": [("Edronax", "reboxetine")],
    "opioid": [("Zomorph", "morphine"), ("Shortec", "oxycodone"), ("Transtec", "buprenorphine")],
    "other_antidepressant": [("Zispin", "mirtazapine"), ("Valdoxan", "agomelatine")],
    "pregabalin": [("Alzain", "pregabalin"), ("Axalid", "pregabalin")],
    "sedating_antihistamine": [("Piriton", "chlorphenamine"), ("Nytol", "diphenhydramine")],
    "serotonergic_antidepressant": [("Lustral", "sertraline"), ("Cipramil", "citalopram")],
    "serotonergic_opioid": [
        ("Physeptone", "methadone"),
        ("Symoron", "methadone"),
        ("Palexia", "tapentadol"),
        ("Durogesic", "fentanyl"),
    ],
    "serotonergic_psychedelic": [("paddo's", "psilocybin"), ("truffels", "psilocybin")],
    "serotonergic_supplement": [("Kira", "st johns wort"), ("Hyperiforce", "st johns wort")],
    "snri": [("Efexor XL", "venlafaxine"), ("Yentreve", "duloxetine")],
    "spari": [("Brintellix", "vortioxetine")],
    "ssri": [("Seroxat", "paroxetine"), ("Cipralex", "escitalopram"), ("Seroplex", "escitalopram")],
    "stimulant": [("Medikinet", "methylphenidate"), ("Elvanse", "lisdexamfetamine"), ("Equasym XL", "methylphenidate")],
    "sympathomimetic_decongestant": [
        ("Galpseud", "pseudoephedrine"),
        ("Clarinase", "pseudoephedrine"),
        ("Lemsip", "phenylephrine"),
    ],
    "tca": [("Sarotex", "amitriptyline"), ("Nortrilen", "nortriptyline")],
    "tramadol": [("Tradonal", "tramadol"), ("Zydol", "tramadol"), ("Tramal", "tramadol")],
    "triptan": [("Imigran", "sumatriptan")],
    "z_drug": [("Stilnoct", "zolpidem"), ("Zimovane", "zopiclone")],
}
# Classes whose names are the same in the US, the UK, the Netherlands and the EU.
SAME_EVERYWHERE = {
    "amt": "a research chemical known by the same names everywhere",
    "five_meo_tryptamine": "5-MeO-DMT and 'bufo' are the same words in every country",
    "pcp_type_dissociative": "PCP, MXE and 3-MeO-PCP are international names",
    "pharmacokinetic_booster": "ritonavir and cobicistat products carry the same brand names in the US and the EU",
    "phenethylamine_psychedelic": "2C-B, DOM and the NBOMes are international names",
}

ROWS = [(cls, written, generic) for cls, rows in NAMES.items() for written, generic in rows]


def test_every_class_has_a_row_or_a_reason(book):
    classes = set(book.vocabulary.classes)
    assert set(NAMES) | set(SAME_EVERYWHERE) == classes
    assert not set(NAMES) & set(SAME_EVERYWHERE)


@pytest.mark.parametrize(("cls", "written", "generic"), ROWS, ids=[f"{c}-{w}" for c, w, _ in ROWS])
def test_a_uk_dutch_or_eu_name_is_read_as_its_drug_and_class(book, cls, written, generic):
    (match,) = book.vocabulary.match_all(written)
    assert match.status == "recognised", f"{written!r} was {match.status}"
    assert match.entry.generic == generic
    assert cls in match.classes
