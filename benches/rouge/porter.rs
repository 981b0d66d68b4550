//! The Porter stemmer as used by Google's `rouge-score` (NLTK's `PorterStemmer` in its default
//! `NLTK_EXTENSIONS` mode): the five steps of Porter (1980) plus NLTK's handful of extensions
//! (irregular forms, `ies`/`ied` on four-letter words, `y` → `i` only after a consonant, `bli`,
//! `alli`, `fulli`, `logi`). Input is one lowercase ASCII token.

/// Suffix rule: (suffix, replacement, condition on the stem left after removing the suffix).
type Rule<'a> = (&'a str, &'a str, &'a dyn Fn(&[u8]) -> bool);

/// The stem of a lowercase ASCII word.
pub fn stem(word: &str) -> String {
    if let Some(base) = irregular(word) {
        return base.to_string();
    }
    if word.len() <= 2 || !word.is_ascii() {
        return word.to_string();
    }
    let mut w = word.as_bytes().to_vec();
    for step in [step1a, step1b, step1c, step2, step3, step4, step5a, step5b] {
        w = step(w);
    }
    String::from_utf8(w).unwrap_or_else(|_| word.to_string())
}

fn irregular(word: &str) -> Option<&'static str> {
    Some(match word {
        "sky" | "skies" => "sky",
        "dying" => "die",
        "lying" => "lie",
        "tying" => "tie",
        "news" => "news",
        "innings" | "inning" => "inning",
        "outings" | "outing" => "outing",
        "cannings" | "canning" => "canning",
        "howe" => "howe",
        "proceed" => "proceed",
        "exceed" => "exceed",
        "succeed" => "succeed",
        _ => return None,
    })
}

fn is_consonant(w: &[u8], i: usize) -> bool {
    match w[i] {
        b'a' | b'e' | b'i' | b'o' | b'u' => false,
        b'y' => i == 0 || !is_consonant(w, i - 1),
        _ => true,
    }
}

/// Porter's m: the number of vowel-consonant sequences.
fn measure(w: &[u8]) -> usize {
    (1..w.len())
        .filter(|&i| is_consonant(w, i) && !is_consonant(w, i - 1))
        .count()
}

fn contains_vowel(w: &[u8]) -> bool {
    (0..w.len()).any(|i| !is_consonant(w, i))
}

fn ends_double_consonant(w: &[u8]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1)
}

/// consonant-vowel-consonant at the end, the last not w, x or y (NLTK: or a two-letter `vc`).
fn ends_cvc(w: &[u8]) -> bool {
    let n = w.len();
    (n >= 3
        && is_consonant(w, n - 3)
        && !is_consonant(w, n - 2)
        && is_consonant(w, n - 1)
        && !matches!(w[n - 1], b'w' | b'x' | b'y'))
        || (n == 2 && !is_consonant(w, 0) && is_consonant(w, 1))
}

fn positive(stem: &[u8]) -> bool {
    measure(stem) > 0
}

fn above_one(stem: &[u8]) -> bool {
    measure(stem) > 1
}

fn replace(w: &[u8], suffix: &str, with: &str) -> Vec<u8> {
    let mut out = w[..w.len() - suffix.len()].to_vec();
    out.extend_from_slice(with.as_bytes());
    out
}

/// Apply the first rule whose suffix the word ends with (or none); a failed condition on that
/// first matching rule leaves the word unchanged.
fn apply(w: Vec<u8>, rules: &[Rule<'_>]) -> Vec<u8> {
    for &(suffix, with, condition) in rules {
        if w.ends_with(suffix.as_bytes()) {
            let stem = &w[..w.len() - suffix.len()];
            return if condition(stem) {
                replace(&w, suffix, with)
            } else {
                w
            };
        }
    }
    w
}

fn step1a(w: Vec<u8>) -> Vec<u8> {
    if w.len() == 4 && w.ends_with(b"ies") {
        return replace(&w, "ies", "ie");
    }
    let always = &|_: &[u8]| true;
    apply(
        w,
        &[
            ("sses", "ss", always),
            ("ies", "i", always),
            ("ss", "ss", always),
            ("s", "", always),
        ],
    )
}

fn step1b(w: Vec<u8>) -> Vec<u8> {
    if w.ends_with(b"ied") {
        return replace(&w, "ied", if w.len() == 4 { "ie" } else { "i" });
    }
    if w.ends_with(b"eed") {
        return if positive(&w[..w.len() - 3]) {
            replace(&w, "eed", "ee")
        } else {
            w
        };
    }
    let Some(stem) = ["ed", "ing"].iter().find_map(|suffix| {
        let stem = w.strip_suffix(suffix.as_bytes())?;
        contains_vowel(stem).then(|| stem.to_vec())
    }) else {
        return w;
    };
    for (suffix, with) in [("at", "ate"), ("bl", "ble"), ("iz", "ize")] {
        if stem.ends_with(suffix.as_bytes()) {
            return replace(&stem, suffix, with);
        }
    }
    if ends_double_consonant(&stem) {
        let last = stem[stem.len() - 1];
        return if matches!(last, b'l' | b's' | b'z') {
            stem
        } else {
            stem[..stem.len() - 1].to_vec()
        };
    }
    if measure(&stem) == 1 && ends_cvc(&stem) {
        let mut out = stem;
        out.push(b'e');
        return out;
    }
    stem
}

fn step1c(w: Vec<u8>) -> Vec<u8> {
    let after_consonant = &|stem: &[u8]| stem.len() > 1 && is_consonant(stem, stem.len() - 1);
    apply(w, &[("y", "i", after_consonant)])
}

fn step2(w: Vec<u8>) -> Vec<u8> {
    if w.ends_with(b"alli") && positive(&w[..w.len() - 4]) {
        return step2(replace(&w, "alli", "al"));
    }
    let logi_stem_positive = w.len() >= 3 && positive(&w[..w.len() - 3]);
    let p = &positive;
    apply(
        w,
        &[
            ("ational", "ate", p),
            ("tional", "tion", p),
            ("enci", "ence", p),
            ("anci", "ance", p),
            ("izer", "ize", p),
            ("bli", "ble", p),
            ("alli", "al", p),
            ("entli", "ent", p),
            ("eli", "e", p),
            ("ousli", "ous", p),
            ("ization", "ize", p),
            ("ation", "ate", p),
            ("ator", "ate", p),
            ("alism", "al", p),
            ("iveness", "ive", p),
            ("fulness", "ful", p),
            ("ousness", "ous", p),
            ("aliti", "al", p),
            ("iviti", "ive", p),
            ("biliti", "ble", p),
            ("fulli", "ful", p),
            // NLTK keeps the `l` with the stem for this condition (`geologi`, `theologi`).
            ("logi", "log", &|_: &[u8]| logi_stem_positive),
        ],
    )
}

fn step3(w: Vec<u8>) -> Vec<u8> {
    let p = &positive;
    apply(
        w,
        &[
            ("icate", "ic", p),
            ("ative", "", p),
            ("alize", "al", p),
            ("iciti", "ic", p),
            ("ical", "ic", p),
            ("ful", "", p),
            ("ness", "", p),
        ],
    )
}

fn step4(w: Vec<u8>) -> Vec<u8> {
    let g = &above_one;
    let ion = &|stem: &[u8]| above_one(stem) && matches!(stem.last(), Some(b's' | b't'));
    apply(
        w,
        &[
            ("al", "", g),
            ("ance", "", g),
            ("ence", "", g),
            ("er", "", g),
            ("ic", "", g),
            ("able", "", g),
            ("ible", "", g),
            ("ant", "", g),
            ("ement", "", g),
            ("ment", "", g),
            ("ent", "", g),
            ("ion", "", ion),
            ("ou", "", g),
            ("ism", "", g),
            ("ate", "", g),
            ("iti", "", g),
            ("ous", "", g),
            ("ive", "", g),
            ("ize", "", g),
        ],
    )
}

fn step5a(w: Vec<u8>) -> Vec<u8> {
    if let Some(stem) = w.strip_suffix(b"e") {
        let m = measure(stem);
        if m > 1 || (m == 1 && !ends_cvc(stem)) {
            return stem.to_vec();
        }
    }
    w
}

fn step5b(w: Vec<u8>) -> Vec<u8> {
    if w.ends_with(b"ll") && measure(&w[..w.len() - 1]) > 1 {
        return w[..w.len() - 1].to_vec();
    }
    w
}
