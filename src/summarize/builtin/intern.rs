//! Words as small numbers: a huge window repeats the same few thousand words hundreds of
//! thousands of times, so the summarizer keeps one copy of each word and a `u32` per use.

use std::collections::HashMap;

/// One summary's word table. Ids are handed out in first-seen order, from 0.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    ids: HashMap<Box<str>, u32>,
    words: Vec<Box<str>>,
}

impl Interner {
    /// The id of `word`, new if it was not seen before.
    pub fn id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = u32::try_from(self.words.len()).expect("fewer than 2^32 distinct words");
        self.words.push(word.into());
        self.ids.insert(word.into(), id);
        id
    }

    /// The word with id `id`.
    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// Distinct words seen.
    pub fn len(&self) -> usize {
        self.words.len()
    }
}

/// Word lists of many documents in one buffer (one allocation instead of one per document).
#[derive(Debug, Default)]
pub(crate) struct Docs {
    ids: Vec<u32>,
    ends: Vec<usize>,
}

impl Docs {
    /// Append a document's word ids, sorted (the order [`super::rank::centrality`] reads).
    pub fn push(&mut self, words: impl IntoIterator<Item = u32>) {
        let start = self.ids.len();
        self.ids.extend(words);
        self.ids[start..].sort_unstable();
        self.ends.push(self.ids.len());
    }

    /// Document `i`'s sorted word ids.
    pub fn get(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.ids[start..self.ends[i]]
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_first_seen_order_and_resolve_back() {
        let mut words = Interner::default();
        assert_eq!(words.id("cache"), 0);
        assert_eq!(words.id("redis"), 1);
        assert_eq!(words.id("cache"), 0);
        assert_eq!(words.word(1), "redis");
        assert_eq!(words.len(), 2);
    }

    #[test]
    fn docs_keep_each_list_sorted_and_apart() {
        let mut docs = Docs::default();
        docs.push([3, 1, 2]);
        docs.push([]);
        docs.push([7, 5]);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs.get(0), &[1, 2, 3]);
        assert!(docs.get(1).is_empty());
        assert_eq!(docs.get(2), &[5, 7]);
    }
}
