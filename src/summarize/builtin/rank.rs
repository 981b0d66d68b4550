//! Ranking for the builtin summarizer: TF-IDF centrality (cosine similarity of each text unit to
//! the centroid of all the others, linear in the number of words) combined with engagement and
//! recency.

use super::intern::Docs;

/// Cosine similarity of each document's TF-IDF vector to the centroid of the others, in `[0, 1]`.
/// Documents are sorted lists of word ids below `terms`; an empty document scores 0. Runs in time
/// linear in the total number of words and keeps only one number per distinct word besides the
/// result (each document's vector is recomputed when it is compared, never stored).
pub(crate) fn centrality(docs: &Docs, terms: usize) -> Vec<f32> {
    let idf = inverse_document_frequency(docs, terms);
    let mut centroid = vec![0.0_f32; terms];
    let mut vector = Vec::new();
    for i in 0..docs.len() {
        tf_idf(docs.get(i), &idf, &mut vector);
        for &(id, weight) in &vector {
            centroid[id as usize] += weight;
        }
    }
    let norm_sq = centroid.iter().map(|w| w * w).sum::<f32>();
    (0..docs.len())
        .map(|i| {
            tf_idf(docs.get(i), &idf, &mut vector);
            leave_one_out_cosine(&vector, &centroid, norm_sq)
        })
        .collect()
}

/// Cosine similarity of a unit vector `v` to the sum of all the others (`centroid - v`), so a
/// document is not rewarded for agreeing with itself.
fn leave_one_out_cosine(v: &[(u32, f32)], centroid: &[f32], norm_sq: f32) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let dot: f32 = v.iter().map(|&(id, w)| w * centroid[id as usize]).sum();
    let rest_norm_sq = norm_sq - 2.0 * dot + 1.0;
    if rest_norm_sq <= 1e-6 {
        return 0.0;
    }
    ((dot - 1.0) / rest_norm_sq.sqrt()).clamp(0.0, 1.0)
}

/// Smoothed IDF per term id.
fn inverse_document_frequency(docs: &Docs, terms: usize) -> Vec<f32> {
    let mut df = vec![0_u32; terms];
    for i in 0..docs.len() {
        let mut last = None;
        for &id in docs.get(i) {
            if last != Some(id) {
                df[id as usize] += 1;
                last = Some(id);
            }
        }
    }
    let n = docs.len() as f32;
    df.iter()
        .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
        .collect()
}

/// The unit-length sparse TF-IDF vector of one document given as sorted term ids, into `vector`.
fn tf_idf(sorted_ids: &[u32], idf: &[f32], vector: &mut Vec<(u32, f32)>) {
    vector.clear();
    for chunk in sorted_ids.chunk_by(|a, b| a == b) {
        let tf = chunk.len() as f32;
        vector.push((chunk[0], (1.0 + tf.ln()) * idf[chunk[0] as usize]));
    }
    let norm = vector.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in vector.iter_mut() {
            *w /= norm;
        }
    }
}

/// What besides content makes a message worth a key point.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Signals {
    /// Replies it received.
    pub replies: u32,
    /// Reactions it received.
    pub reactions: u32,
    /// Pinned messages matter.
    pub pinned: bool,
    /// Position in the window, 0 = oldest, 1 = newest.
    pub position: f32,
    /// Content words in it (very short messages say little).
    pub words: usize,
}

/// Final score of a message: centrality weighted by engagement, a mild recency boost and a
/// penalty for messages of fewer than eight content words.
pub(crate) fn combine(centrality: f32, signals: &Signals) -> f32 {
    let engagement = 1.0
        + 0.35 * (signals.replies as f32).ln_1p()
        + 0.25 * (signals.reactions as f32).ln_1p()
        + if signals.pinned { 0.5 } else { 0.0 };
    let recency = 0.9 + 0.2 * signals.position;
    let length = (signals.words as f32 / 8.0).min(1.0);
    (centrality + 0.05) * engagement * recency * length
}

#[cfg(test)]
mod tests {
    use super::super::intern::Interner;
    use super::*;

    fn docs(texts: &[&str]) -> (Docs, usize) {
        let mut words = Interner::default();
        let mut docs = Docs::default();
        for text in texts {
            docs.push(
                text.split_whitespace()
                    .map(|w| words.id(w))
                    .collect::<Vec<_>>(),
            );
        }
        (docs, words.len())
    }

    #[test]
    fn central_documents_score_higher() {
        let (docs, terms) = docs(&[
            "database migration postgres schema",
            "postgres schema migration tomorrow",
            "database postgres backup",
            "pizza lunch friday",
            "",
        ]);
        let scores = centrality(&docs, terms);
        assert!(scores[0] > scores[3]);
        assert!(scores[1] > scores[3]);
        assert!(scores[0] <= 1.0 + f32::EPSILON);
        assert!(scores[4].abs() < f32::EPSILON);
        assert!(centrality(&Docs::default(), 0).is_empty());
    }

    #[test]
    fn engagement_and_length_matter() {
        let base = Signals {
            words: 8,
            ..Signals::default()
        };
        let replied = Signals { replies: 3, ..base };
        let short = Signals { words: 1, ..base };
        assert!(combine(0.5, &replied) > combine(0.5, &base));
        assert!(combine(0.5, &short) < combine(0.5, &base));
    }
}
