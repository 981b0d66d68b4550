//! Discord embeds: splitting a summary into embeds and messages within Discord limits.
