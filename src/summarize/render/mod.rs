//! Rendering of summaries: Markdown, plain text, JSON and Discord embeds.

mod embeds;
