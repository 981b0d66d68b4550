//! The summary engines, built once and shared: the configured one at start, the other
//! provider (a webhook job may ask for `builtin` or `openai`) on first use. No request rebuilds
//! an OpenAI client or reads the prompt templates again.

use std::sync::{Arc, OnceLock};

use crate::config::{Config, LlmProvider};
use crate::llm::openai::{OpenAiClient, OpenAiOptions};
use crate::store::Store;
use crate::summarize::builtin::BuiltinSummarizer;
use crate::summarize::engine::{CachePolicy, Engine};
use crate::summarize::mapreduce::{LlmOptions, LlmSummarizer};
use crate::summarize::prompt::Templates;
use crate::summarize::withhold::Policy;

/// The engines of one process.
pub struct Engines {
    config: Arc<Config>,
    store: Option<Arc<Store>>,
    fallback: bool,
    configured: Arc<Engine>,
    builtin: OnceLock<Arc<Engine>>,
    openai: OnceLock<Result<Arc<Engine>, String>>,
}

impl Engines {
    /// Build the configured engine now (so a bad LLM setting fails at start). With `fallback`,
    /// an LLM failure falls back to the builtin summarizer; with a store, summaries are cached
    /// and usage recorded there.
    pub fn new(
        config: Arc<Config>,
        store: Option<Arc<Store>>,
        fallback: bool,
    ) -> Result<Self, String> {
        let configured = Arc::new(build(
            &config,
            config.llm.provider,
            store.clone(),
            fallback,
        )?);
        Ok(Self {
            config,
            store,
            fallback,
            configured,
            builtin: OnceLock::new(),
            openai: OnceLock::new(),
        })
    }

    /// The engine for `provider` (`None`: the configured one).
    pub fn get(&self, provider: Option<LlmProvider>) -> Result<Arc<Engine>, String> {
        let Some(provider) = provider.filter(|p| *p != self.config.llm.provider) else {
            return Ok(Arc::clone(&self.configured));
        };
        match provider {
            LlmProvider::Builtin => {
                Ok(Arc::clone(self.builtin.get_or_init(|| {
                    Arc::new(builtin_engine(&self.config, self.store.clone()))
                })))
            }
            LlmProvider::OpenAi => self
                .openai
                .get_or_init(|| {
                    build(&self.config, provider, self.store.clone(), self.fallback).map(Arc::new)
                })
                .clone(),
        }
    }
}

/// The engine for `provider` under `config`.
fn build(
    config: &Config,
    provider: LlmProvider,
    store: Option<Arc<Store>>,
    fallback: bool,
) -> Result<Engine, String> {
    let builtin = Arc::new(BuiltinSummarizer::new());
    let engine = match provider {
        LlmProvider::Builtin => Engine::new(builtin),
        LlmProvider::OpenAi => {
            let engine = Engine::new(Arc::new(llm_summarizer(config)?)).with_withholding(Policy {
                emails: config.llm.withhold_emails,
            });
            if fallback {
                engine.with_fallback(builtin)
            } else {
                engine
            }
        }
    };
    Ok(with_store(config, engine, store))
}

/// The LLM summarizer of `config` (its OpenAI-compatible client, templates and options). No
/// request is made; a context too small for `max_tokens` plus the prompt is refused here.
pub fn llm_summarizer(config: &Config) -> Result<LlmSummarizer, String> {
    let llm = &config.llm;
    let client = OpenAiClient::new(OpenAiOptions {
        base_url: llm.base_url.clone(),
        api_key: (!llm.api_key.is_empty()).then(|| llm.api_key.clone()),
        model: llm.model.clone(),
        timeout: llm.timeout,
        max_retries: llm.max_retries,
        ..OpenAiOptions::default()
    })
    .map_err(|e| e.to_string())?;
    let templates =
        Templates::load(config.summary.prompts_dir.as_deref()).map_err(|e| e.to_string())?;
    let summarizer = LlmSummarizer::new(
        Arc::new(client),
        templates,
        LlmOptions {
            context_tokens: llm.context_tokens as usize,
            max_tokens: llm.max_tokens,
            temperature: llm.temperature,
            concurrency: llm.concurrency,
            ..LlmOptions::default()
        },
    );
    summarizer.data_tokens().map_err(|e| e.to_string())?;
    Ok(summarizer)
}

fn builtin_engine(config: &Config, store: Option<Arc<Store>>) -> Engine {
    with_store(
        config,
        Engine::new(Arc::new(BuiltinSummarizer::new())),
        store,
    )
}

fn with_store(config: &Config, engine: Engine, store: Option<Arc<Store>>) -> Engine {
    let Some(store) = store else {
        return engine;
    };
    let cache = CachePolicy {
        ttl: config.cache.ttl,
        max_entries: config.cache.max_entries,
    };
    engine
        .with_store(store, Some(cache))
        .with_daily_token_budget(config.llm.daily_token_budget, config.llm.max_tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_is_built_once_and_shared() {
        let config = Arc::new(Config::default());
        let engines = Engines::new(Arc::clone(&config), None, true).expect("builtin builds");
        let a = engines.get(None).expect("configured");
        let b = engines
            .get(Some(LlmProvider::Builtin))
            .expect("same provider");
        assert!(
            Arc::ptr_eq(&a, &b),
            "the configured engine serves its provider"
        );
        let first = engines.get(Some(LlmProvider::OpenAi)).expect("openai");
        let again = engines.get(Some(LlmProvider::OpenAi)).expect("openai");
        assert!(
            Arc::ptr_eq(&first, &again),
            "built on first use, then shared"
        );
        assert_eq!(first.provider(), "openai");
    }
}
