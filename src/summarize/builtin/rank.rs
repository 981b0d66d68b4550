//! Ranking for the builtin summarizer: TF-IDF centrality (cosine similarity of each text unit to
//! the centroid of all the others, linear in the number of words) combined with engagement and
//! recency.

use std::collections::HashMap;

/// Cosine similarity of each document's TF-IDF vector to the centroid of the others, in `[0, 1]`.
/// Documents are lists of content words; an empty document scores 0. Runs in time linear in the
/// total number of words.
pub(crate) fn centrality<D: AsRef<[String]>>(docs: &[D]) -> Vec<f32> {
    let mut vocab: HashMap<&str, usize> = HashMap::new();
    let ids: Vec<Vec<usize>> = docs
        .iter()
        .map(|doc| {
            let mut ids: Vec<usize> = doc
                .as_ref()
                .iter()
                .map(|w| {
                    let next = vocab.len();
                    *vocab.entry(w.as_str()).or_insert(next)
                })
                .collect();
            ids.sort_unstable();
            ids
        })
        .collect();
    let idf = inverse_document_frequency(&ids, vocab.len());
    let vectors: Vec<Vec<(usize, f32)>> = ids.iter().map(|d| tf_idf(d, &idf)).collect();
    let mut centroid = vec![0.0_f32; vocab.len()];
    for vector in &vectors {
        for &(id, weight) in vector {
            centroid[id] += weight;
        }
    }
    let norm_sq = centroid.iter().map(|w| w * w).sum::<f32>();
    vectors
        .iter()
        .map(|v| leave_one_out_cosine(v, &centroid, norm_sq))
        .collect()
}

/// Cosine similarity of a unit vector `v` to the sum of all the others (`centroid - v`), so a
/// document is not rewarded for agreeing with itself.
fn leave_one_out_cosine(v: &[(usize, f32)], centroid: &[f32], norm_sq: f32) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let dot: f32 = v.iter().map(|&(id, w)| w * centroid[id]).sum();
    let rest_norm_sq = norm_sq - 2.0 * dot + 1.0;
    if rest_norm_sq <= 1e-6 {
        return 0.0;
    }
    ((dot - 1.0) / rest_norm_sq.sqrt()).clamp(0.0, 1.0)
}

/// Smoothed IDF per term id, from documents given as sorted term ids.
fn inverse_document_frequency(docs: &[Vec<usize>], terms: usize) -> Vec<f32> {
    let mut df = vec![0_u32; terms];
    for doc in docs {
        let mut last = None;
        for &id in doc {
            if last != Some(id) {
                df[id] += 1;
                last = Some(id);
            }
        }
    }
    let n = docs.len() as f32;
    df.iter()
        .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
        .collect()
}

/// The unit-length sparse TF-IDF vector of one document given as sorted term ids.
fn tf_idf(sorted_ids: &[usize], idf: &[f32]) -> Vec<(usize, f32)> {
    let mut vector: Vec<(usize, f32)> = Vec::new();
    for chunk in sorted_ids.chunk_by(|a, b| a == b) {
        let tf = chunk.len() as f32;
        vector.push((chunk[0], (1.0 + tf.ln()) * idf[chunk[0]]));
    }
    let norm = vector.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in &mut vector {
            *w /= norm;
        }
    }
    vector
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
    use super::*;

    fn doc(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn central_documents_score_higher() {
        let docs = vec![
            doc("database migration postgres schema"),
            doc("postgres schema migration tomorrow"),
            doc("database postgres backup"),
            doc("pizza lunch friday"),
            doc(""),
        ];
        let scores = centrality(&docs);
        assert!(scores[0] > scores[3]);
        assert!(scores[1] > scores[3]);
        assert!(scores[0] <= 1.0 + f32::EPSILON);
        assert!(scores[4].abs() < f32::EPSILON);
        assert!(centrality::<Vec<String>>(&[]).is_empty());
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
