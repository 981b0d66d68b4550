//! Black-box tests of the OpenAI-compatible client against the fake server over real HTTP:
//! success, retries with `Retry-After`, the give-up rules and the user-facing errors.

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use summarybot::llm::openai::{OpenAiClient, OpenAiOptions};
use summarybot::llm::{ChatModel, CompletionRequest, LlmError, PromptMessage, Role};
use summarybot::model::TokenUsage;
use summarybot::secret::Secret;
use support::fake_openai::{fake_usage, FakeOpenAi, Fault, FAKE_MARKER};

const MAX_RETRIES: u32 = 2;

/// Fast options: 10 ms backoff so the retry tests take milliseconds.
fn options(base_url: String) -> OpenAiOptions {
    OpenAiOptions {
        base_url,
        api_key: Some(Secret::new("sk-test-key")),
        model: "gpt-test".into(),
        timeout: Duration::from_secs(5),
        max_retries: MAX_RETRIES,
        backoff_base: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_retry_wait: Duration::from_secs(120),
    }
}

fn client(fake: &FakeOpenAi) -> OpenAiClient {
    OpenAiClient::new(options(fake.base_url())).expect("valid options")
}

fn request() -> CompletionRequest {
    CompletionRequest {
        messages: vec![
            PromptMessage {
                role: Role::System,
                content: "You summarize Discord conversations. Cite message ids.".into(),
            },
            PromptMessage {
                role: Role::User,
                content: "[m1] alice: ship on friday?\n[m2] bob: yes, after the tests\n[m3] carol: I will write the changelog".into(),
            },
        ],
        max_tokens: 512,
        temperature: 0.2,
    }
}

/// Complete once, returning the result, the attempts the client counted and the elapsed time.
async fn run(client: &OpenAiClient) -> (Result<summarybot::llm::Completion, LlmError>, Duration) {
    let started = Instant::now();
    let result = client.complete(request()).await;
    (result, started.elapsed())
}

fn assert_attempts(fake: &FakeOpenAi, client: &OpenAiClient, expected: usize) {
    assert_eq!(
        fake.chat_requests().len(),
        expected,
        "requests the fake received"
    );
    assert_eq!(
        client.attempts_made(),
        expected as u64,
        "attempts the client counted"
    );
}

#[tokio::test]
async fn success_returns_content_usage_and_sends_model_and_key() {
    let fake = FakeOpenAi::start();
    let client = client(&fake);
    let (result, _) = run(&client).await;
    let completion = result.expect("success");

    assert!(completion.text.contains(FAKE_MARKER), "{}", completion.text);
    for heading in [
        "## Key Discussion Points",
        "## Important Decisions/Outcomes",
        "## Action Items",
        "## Technical Details",
    ] {
        assert!(completion.text.contains(heading), "{heading} missing");
    }
    assert!(
        completion.text.contains("[m1] [m2] [m3]"),
        "{}",
        completion.text
    );
    let sent = &fake.chat_requests()[0];
    let (prompt, answer) = fake_usage(&sent.json, &completion.text);
    assert_eq!(
        completion.usage,
        TokenUsage {
            prompt_tokens: prompt,
            completion_tokens: answer
        },
        "the provider's usage is used as reported"
    );
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test-key"));
    assert_eq!(sent.json["model"], "gpt-test");
    assert_eq!(sent.json["max_tokens"], 512);
    assert_eq!(sent.json["messages"][0]["role"], "system");
    assert_eq!(sent.json["messages"][1]["role"], "user");
    assert!(sent.prompt_text().contains("ship on friday"));
    assert_attempts(&fake, &client, 1);
}

#[tokio::test]
async fn no_key_sends_no_authorization_header() {
    let fake = FakeOpenAi::start();
    let client = OpenAiClient::new(OpenAiOptions {
        api_key: None,
        ..options(fake.base_url())
    })
    .expect("valid options");
    run(&client).await.0.expect("success");
    assert_eq!(fake.chat_requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn base_url_without_v1_prefix_works() {
    let fake = FakeOpenAi::start();
    let client = OpenAiClient::new(options(format!("{}/", fake.root_url()))).expect("valid");
    run(&client).await.0.expect("success");
    assert_eq!(fake.chat_requests()[0].path, "/chat/completions");
}

#[tokio::test]
async fn missing_usage_is_estimated_from_characters() {
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::ReplyWithoutUsage("12345678".into()));
    let client = client(&fake);
    let completion = run(&client).await.0.expect("success");
    let prompt_chars: usize = request()
        .messages
        .iter()
        .map(|m| m.content.chars().count())
        .sum();
    assert_eq!(completion.text, "12345678");
    assert_eq!(
        completion.usage,
        TokenUsage {
            prompt_tokens: prompt_chars.div_ceil(4) as u64,
            completion_tokens: 2
        }
    );
}

#[tokio::test]
async fn rate_limit_then_success_honours_retry_after_ms() {
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::RateLimited {
        retry_after_secs: None,
        retry_after_ms: Some(200),
    });
    let client = client(&fake);
    let (result, elapsed) = run(&client).await;
    assert!(result
        .expect("second attempt succeeds")
        .text
        .contains(FAKE_MARKER));
    assert_attempts(&fake, &client, 2);
    let log = fake.chat_requests();
    let gap = log[1].arrived.duration_since(log[0].arrived);
    assert!(gap >= Duration::from_millis(200), "waited only {gap:?}");
    assert!(elapsed >= Duration::from_millis(200));
}

#[tokio::test]
async fn rate_limit_then_success_honours_retry_after_seconds() {
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::RateLimited {
        retry_after_secs: Some(1),
        retry_after_ms: None,
    });
    let client = client(&fake);
    let (result, _) = run(&client).await;
    result.expect("second attempt succeeds");
    assert_attempts(&fake, &client, 2);
    let log = fake.chat_requests();
    let gap = log[1].arrived.duration_since(log[0].arrived);
    assert!(gap >= Duration::from_secs(1), "waited only {gap:?}");
}

#[tokio::test]
async fn rate_limit_beyond_max_retries_gives_rate_limited() {
    let fake = FakeOpenAi::start();
    let limited = Fault::RateLimited {
        retry_after_secs: None,
        retry_after_ms: Some(20),
    };
    fake.push_faults(vec![limited; 5]);
    let client = client(&fake);
    let error = run(&client).await.0.expect_err("stays rate limited");
    assert_eq!(
        error,
        LlmError::RateLimited {
            retry_after_secs: 1
        }
    );
    assert!(error.to_string().contains("rate limiting"), "{error}");
    assert_attempts(&fake, &client, 1 + MAX_RETRIES as usize);
}

#[tokio::test]
async fn absurd_retry_after_gives_up_at_once() {
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::RateLimited {
        retry_after_secs: Some(3600),
        retry_after_ms: None,
    });
    let client = client(&fake);
    let (result, elapsed) = run(&client).await;
    let error = result.expect_err("refuses to wait an hour");
    assert_eq!(
        error,
        LlmError::RateLimited {
            retry_after_secs: 3600
        }
    );
    assert!(error.to_string().contains("try again in 3600 s"), "{error}");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_attempts(&fake, &client, 1);
}

#[tokio::test]
async fn insufficient_quota_is_not_retried() {
    let fake = FakeOpenAi::start();
    fake.push_faults(vec![Fault::InsufficientQuota; 3]);
    let client = client(&fake);
    let error = run(&client).await.0.expect_err("no credits");
    assert_eq!(error, LlmError::QuotaExhausted);
    assert!(error.to_string().contains("insufficient_quota"));
    assert_attempts(&fake, &client, 1);
    assert_eq!(
        fake.pending_faults(),
        2,
        "only one scripted answer was used"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let fake = FakeOpenAi::start();
    fake.push_faults(vec![Fault::ServerError(500); 5]);
    let client = client(&fake);
    let error = run(&client).await.0.expect_err("keeps failing");
    assert_eq!(error, LlmError::ServerError { status: 500 });
    assert!(error.to_string().contains("HTTP 500"), "{error}");
    assert_attempts(&fake, &client, 1 + MAX_RETRIES as usize);
}

#[tokio::test]
async fn server_error_then_success() {
    let fake = FakeOpenAi::start();
    fake.push_faults([Fault::ServerError(503), Fault::Reply("recovered".into())]);
    let client = client(&fake);
    let completion = run(&client).await.0.expect("recovers");
    assert_eq!(completion.text, "recovered");
    assert_attempts(&fake, &client, 2);
}

#[tokio::test]
async fn invalid_key_is_unauthorized_without_retry() {
    let fake = FakeOpenAi::start();
    fake.push_faults(vec![Fault::InvalidApiKey; 3]);
    let client = client(&fake);
    let error = run(&client).await.0.expect_err("bad key");
    assert_eq!(error, LlmError::Unauthorized { status: 401 });
    let message = error.to_string();
    assert!(message.contains("llm.api_key"), "{message}");
    assert!(
        !message.contains("sk-test-key"),
        "the key never appears: {message}"
    );
    assert_attempts(&fake, &client, 1);
}

#[tokio::test]
async fn an_endpoint_echoing_the_key_never_gets_it_into_the_error() {
    // Not shaped like an OpenAI key, so only its registration as a secret can mask the bare echo.
    let key = "local-proxy-key-Q7f3Zk29vLm0";
    let fake = FakeOpenAi::start();
    let client = OpenAiClient::new(OpenAiOptions {
        api_key: Some(Secret::new(key)),
        ..options(fake.base_url())
    })
    .expect("valid options");
    // The second echo starts the key just before the 300-character cut of the quoted message:
    // masking after the cut would leave its first characters.
    for padding in [0, 255] {
        fake.push_fault(Fault::EchoAuthorization {
            status: 400,
            padding,
        });
        let error = run(&client).await.0.expect_err("refused");
        let message = error.to_string();
        assert!(matches!(error, LlmError::BadRequest { .. }), "{error:?}");
        assert!(
            !message.contains(&key[..8]),
            "the key (or its start) leaked: {message}"
        );
        assert!(
            message.contains("Authorization: Bearer ***"),
            "the echo is shown masked: {message}"
        );
        assert!(
            padding > 0 || message.contains("(credential ***)"),
            "the bare key is masked too: {message}"
        );
    }
    assert_eq!(
        fake.chat_requests()[0].header("authorization"),
        Some(format!("Bearer {key}").as_str()),
        "the real key is still sent"
    );
}

#[tokio::test]
async fn unknown_model_is_not_found_without_retry() {
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::ModelNotFound);
    let client = client(&fake);
    let error = run(&client).await.0.expect_err("unknown model");
    assert_eq!(
        error,
        LlmError::NotFound {
            model: "gpt-test".into()
        }
    );
    assert!(error.to_string().contains("llm.model"));
    assert_attempts(&fake, &client, 1);
}

#[tokio::test]
async fn hang_past_timeout_is_retried_then_timeout() {
    let fake = FakeOpenAi::start();
    fake.push_faults(vec![Fault::Hang(Duration::from_secs(10)); 3]);
    let client = OpenAiClient::new(OpenAiOptions {
        timeout: Duration::from_millis(300),
        max_retries: 1,
        ..options(fake.base_url())
    })
    .expect("valid options");
    let (result, elapsed) = run(&client).await;
    let error = result.expect_err("times out");
    assert_eq!(error, LlmError::Timeout { timeout_secs: 1 });
    assert!(error.to_string().contains("did not answer"), "{error}");
    assert_attempts(&fake, &client, 2);
    assert!(elapsed >= Duration::from_millis(600), "took {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[tokio::test]
async fn malformed_json_is_reported_without_retry() {
    let fake = FakeOpenAi::start();
    fake.push_faults([Fault::MalformedJson, Fault::MalformedJson]);
    let client = client(&fake);
    let error = run(&client).await.0.expect_err("malformed");
    assert!(matches!(error, LlmError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("could not be read"), "{error}");
    assert_attempts(&fake, &client, 1);
}

#[tokio::test]
async fn oversized_answer_is_refused() {
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::Reply("x".repeat(9 * 1024 * 1024)));
    let client = client(&fake);
    let error = run(&client).await.0.expect_err("too large");
    assert_eq!(
        error,
        LlmError::Malformed {
            detail: "the answer is larger than 8 MiB".into()
        }
    );
    assert_attempts(&fake, &client, 1);
}

#[tokio::test]
async fn empty_choices_are_malformed() {
    let fake = FakeOpenAi::start();
    fake.push_fault(Fault::EmptyChoices);
    let client = client(&fake);
    let error = run(&client).await.0.expect_err("no choices");
    assert_eq!(
        error,
        LlmError::Malformed {
            detail: "the answer has no choices".into()
        }
    );
}

#[tokio::test]
async fn connection_refused_is_unreachable_after_retries() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let client = OpenAiClient::new(options(base_url.clone())).expect("valid options");
    let error = run(&client).await.0.expect_err("nobody listens");
    match &error {
        LlmError::Unreachable {
            base_url: url,
            detail,
        } => {
            assert_eq!(url, &base_url);
            assert!(detail.contains("refused"), "{detail}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(error.to_string().contains(&base_url), "{error}");
    assert_eq!(client.attempts_made(), 1 + u64::from(MAX_RETRIES));
}

#[tokio::test]
async fn fake_lists_models_and_answers_unknown_routes_with_404() {
    let fake = FakeOpenAi::start();
    let http = reqwest::Client::new();
    let models: serde_json::Value = serde_json::from_str(
        &http
            .get(format!("{}/models", fake.base_url()))
            .send()
            .await
            .expect("models answers")
            .text()
            .await
            .expect("body"),
    )
    .expect("json");
    assert_eq!(models["data"][0]["id"], "fake-model");
    let missing = http
        .get(format!("{}/nope", fake.base_url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(fake.requests().len(), 2);
    assert!(fake.chat_requests().is_empty());
}

/// A log sink shared with the test.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_attempts_but_never_the_key_or_the_prompt() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = FakeOpenAi::start();
    fake.push_faults([Fault::ServerError(502), Fault::InvalidApiKey]);
    let client = client(&fake);
    let error = run(&client).await.0.expect_err("bad key after a retry");
    assert_eq!(error, LlmError::Unauthorized { status: 401 });

    let text = String::from_utf8(logs.0.lock().expect("log lock").clone()).expect("utf-8 logs");
    assert!(text.contains("retrying"), "a retry is logged: {text}");
    assert!(text.contains("status=502"), "the status is logged: {text}");
    assert!(!text.contains("sk-test-key"), "the key leaked: {text}");
    assert!(
        !text.contains("ship on friday"),
        "the prompt leaked: {text}"
    );
    assert!(
        !text.contains("summarize Discord"),
        "the prompt leaked: {text}"
    );
}

#[tokio::test]
async fn list_models_checks_the_endpoint() {
    let fake = FakeOpenAi::start();
    let client = client(&fake);
    assert_eq!(
        client.list_models().await.expect("models"),
        vec!["fake-model".to_owned()]
    );
    let sent = &fake.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test-key"));
    assert_eq!(client.attempts_made(), 0, "only chat attempts are counted");

    let wrong_root = OpenAiClient::new(options(format!("{}/v2", fake.root_url()))).expect("valid");
    let error = wrong_root.list_models().await.expect_err("no such route");
    assert_eq!(
        error,
        LlmError::NotFound {
            model: "gpt-test".into()
        }
    );
}
