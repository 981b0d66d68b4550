//! HTTP errors of the webhook server and the status page: one type, one status per case, always a JSON body
//! `{"error": "...", "detail": "..."}`.

use rouille::Response;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Short machine-readable error.
    pub error: &'static str,
    /// What to fix.
    pub detail: String,
    /// Seconds to wait before retrying (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: u16, error: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            error,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 409: the resource is busy with an earlier request.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, "conflict", detail)
    }

    /// 411: a body without `Content-Length` (chunked), which is not accepted.
    pub fn length_required(detail: impl Into<String>) -> Self {
        Self::new(411, "length_required", detail)
    }

    /// 400: malformed input.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, "bad_request", detail)
    }

    /// 401: missing or wrong credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", detail)
    }

    /// 404: unknown path or id.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, "not_found", detail)
    }

    /// 405: wrong method.
    pub fn method_not_allowed(allowed: &str) -> Self {
        Self::new(405, "method_not_allowed", format!("use {allowed}"))
    }

    /// 408: the body did not arrive in time (`webhook.read_timeout`).
    pub fn request_timeout(detail: impl Into<String>) -> Self {
        Self::new(408, "request_timeout", detail)
    }

    /// 413: body too large.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "payload_too_large",
            format!("the body exceeds webhook.max_body_bytes ({limit} bytes)"),
        )
    }

    /// 422: well-formed but not processable.
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(422, "unprocessable", detail)
    }

    /// 429: rate limited.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                429,
                "rate_limited",
                format!("too many requests from this address; retry in {retry_after} s"),
            )
        }
    }

    /// 503: the server cannot take the request now.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(503, "unavailable", detail)
    }

    /// 500: an internal failure.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, "internal", detail)
    }

    /// An answer the HTTP layer gives before a request reaches the handler (malformed or
    /// non-ASCII head 400, too slow 408, unknown `Expect` 417, head too large 431, too many
    /// connections 503, HTTP version 505).
    pub fn from_http_layer(status: u16, detail: impl Into<String>) -> Self {
        let error = match status {
            400 => "bad_request",
            408 => "request_timeout",
            417 => "expectation_failed",
            431 => "headers_too_large",
            503 => "unavailable",
            505 => "http_version_not_supported",
            _ => "error",
        };
        Self::new(status, error, detail)
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.error, "detail": self.detail })
    }

    /// The JSON response.
    pub fn response(&self) -> Response {
        let response = Response::json(&self.body()).with_status_code(self.status);
        match self.retry_after {
            Some(secs) => response.with_additional_header("Retry-After", secs.to_string()),
            None => response,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_carry_status_json_and_retry_after() {
        let r = ApiError::rate_limited(7).response();
        assert_eq!(r.status_code, 429);
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| k == "Retry-After" && v == "7"));
        let r = ApiError::too_large(1024).response();
        assert_eq!(r.status_code, 413);
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| k == "Content-Type" && v.contains("json")));
    }
}
