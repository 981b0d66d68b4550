//! The rouille glue of the status page: routing under `/status`, the login/logout flow with
//! sessions, CSRF and rate limiting, cookies, and the security headers on every response.

use std::io::Read;
use std::time::Instant;

use rouille::{Request, Response};

use super::data::{self, Sources};
use super::form::{self, MAX_FORM_BYTES};
use super::views::{self, View};
use super::StatusSite;
use crate::encoding::constant_time_eq;
use crate::model::Timestamp;
use crate::random;
use crate::web::ApiError;

/// The session cookie.
const SESSION_COOKIE: &str = "sb_session";
/// The login form's double-submit CSRF cookie.
const LOGIN_CSRF_COOKIE: &str = "sb_login_csrf";
/// How long a login form stays usable, in seconds.
const LOGIN_FORM_SECONDS: u64 = 3600;
/// The stylesheet.
const STYLE: &str = include_str!("assets/style.css");
/// The script that adds local times.
const SCRIPT: &str = include_str!("assets/app.js");
/// The Content-Security-Policy: only our own stylesheet and script, no framing, forms to us.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Answer a request under `/status` (404 while the page is off).
pub fn handle(site: &StatusSite, request: &Request) -> Response {
    if !site.enabled {
        return ApiError::not_found(
            "the status page is off; set status.enabled = true and status.password_hash",
        )
        .response();
    }
    secure(route(site, request))
}

/// The security headers every status response carries.
fn secure(response: Response) -> Response {
    response
        .with_unique_header("Content-Security-Policy", CSP)
        .with_unique_header("X-Frame-Options", "DENY")
        .with_unique_header("X-Content-Type-Options", "nosniff")
        .with_unique_header("Referrer-Policy", "no-referrer")
        .with_unique_header("Cache-Control", "no-store")
}

fn route(site: &StatusSite, request: &Request) -> Response {
    let url = request.url();
    let path = url.strip_prefix("/status").unwrap_or_default();
    match (request.method(), path) {
        ("GET", "/static/style.css") => Response::from_data("text/css; charset=utf-8", STYLE),
        ("GET", "/static/app.js") => Response::from_data("text/javascript; charset=utf-8", SCRIPT),
        ("GET", "/login") => login_page(site, request),
        ("POST", "/login") => login(site, request),
        ("POST", "/logout") => logout(site, request),
        (_, "/login") => ApiError::method_not_allowed("GET or POST").response(),
        (_, "/logout") => ApiError::method_not_allowed("POST").response(),
        ("GET", p) if p.starts_with("/api/") => api(site, request, &p["/api/".len()..]),
        ("GET", "" | "/") => view(site, request, View::Overview),
        ("GET", p) => match View::from_slug(&p[1..]) {
            Some(v) => view(site, request, v),
            None => not_found(),
        },
        _ => ApiError::method_not_allowed("GET").response(),
    }
}

fn not_found() -> Response {
    Response::text("no such status page; see /status").with_status_code(404)
}

/// Whether the connection is TLS as far as we can tell (configured, or said by the proxy).
fn is_secure(site: &StatusSite, request: &Request) -> bool {
    site.secure_cookies
        || request
            .header("X-Forwarded-Proto")
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value scoped to the status page.
fn cookie(site: &StatusSite, request: &Request, name: &str, value: &str, max_age: u64) -> String {
    let secure = if is_secure(site, request) {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Max-Age={max_age}; Path=/status; HttpOnly; SameSite=Strict{secure}")
}

fn cookie_value<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .header("Cookie")
        .and_then(|h| form::cookie(h, name))
        .filter(|v| !v.is_empty())
}

/// The CSRF token of the request's live session, if it has one.
fn session(site: &StatusSite, request: &Request) -> Option<String> {
    let id = cookie_value(request, SESSION_COOKIE)?;
    site.sessions.csrf(id, Instant::now())
}

/// `GET /status/login`: a form with a fresh double-submit token (or home when logged in).
fn login_page(site: &StatusSite, request: &Request) -> Response {
    if session(site, request).is_some() {
        return Response::redirect_303("/status");
    }
    login_form(site, request, None, 200)
}

/// The login form with a new CSRF token, `status` and an optional error.
fn login_form(site: &StatusSite, request: &Request, error: Option<&str>, status: u16) -> Response {
    match random::token() {
        Ok(token) => Response::html(views::login(&token, error))
            .with_status_code(status)
            .with_additional_header(
                "Set-Cookie",
                cookie(site, request, LOGIN_CSRF_COOKIE, &token, LOGIN_FORM_SECONDS),
            ),
        Err(e) => ApiError::internal(e).response(),
    }
}

/// `POST /status/login`: rate limit, CSRF, password, then a session cookie and home.
fn login(site: &StatusSite, request: &Request) -> Response {
    if let Err(wait) = site
        .login_limiter
        .check(request.remote_addr().ip(), Instant::now())
    {
        let message = format!("Too many login attempts; wait {wait} s and try again.");
        return login_form(site, request, Some(&message), 429)
            .with_unique_header("Retry-After", wait.to_string());
    }
    let fields = match read_form(request) {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let sent = form::field(&fields, "csrf").unwrap_or_default();
    let expected = cookie_value(request, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if sent.is_empty() || !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        let message = "The login form expired or came from elsewhere; try again.";
        return login_form(site, request, Some(message), 403);
    }
    let password = form::field(&fields, "password").unwrap_or_default();
    if !site.check_password(password) {
        tracing::warn!(client = %request.remote_addr().ip(), "status page login failed");
        return login_form(site, request, Some("Wrong password."), 401);
    }
    match site.sessions.create(Instant::now()) {
        Ok(new) => Response::redirect_303("/status")
            .with_additional_header(
                "Set-Cookie",
                cookie(
                    site,
                    request,
                    SESSION_COOKIE,
                    &new.id,
                    site.sessions.ttl().as_secs(),
                ),
            )
            .with_additional_header(
                "Set-Cookie",
                cookie(site, request, LOGIN_CSRF_COOKIE, "", 0),
            ),
        Err(e) => ApiError::internal(e).response(),
    }
}

/// `POST /status/logout`: needs the session's CSRF token; ends the session.
fn logout(site: &StatusSite, request: &Request) -> Response {
    let Some(csrf) = session(site, request) else {
        return Response::redirect_303("/status/login");
    };
    let fields = match read_form(request) {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let sent = form::field(&fields, "csrf").unwrap_or_default();
    if !constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
        return Response::text("the logout form's CSRF token is wrong; reload the page")
            .with_status_code(403);
    }
    if let Some(id) = cookie_value(request, SESSION_COOKIE) {
        site.sessions.remove(id);
    }
    Response::redirect_303("/status/login")
        .with_additional_header("Set-Cookie", cookie(site, request, SESSION_COOKIE, "", 0))
}

/// Read and parse a small urlencoded body; the error is the response to send.
fn read_form(request: &Request) -> Result<Vec<(String, String)>, Response> {
    let Some(data) = request.data() else {
        return Err(ApiError::internal("the request body was already read").response());
    };
    let mut body = Vec::new();
    data.take(MAX_FORM_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| ApiError::bad_request(format!("cannot read the form: {e}")).response())?;
    if body.len() > MAX_FORM_BYTES {
        return Err(ApiError::too_large(MAX_FORM_BYTES).response());
    }
    form::parse(&body).ok_or_else(|| {
        ApiError::bad_request("the form is not valid application/x-www-form-urlencoded UTF-8")
            .response()
    })
}

fn sources(site: &StatusSite) -> Sources<'_> {
    let live = &site.live;
    Sources {
        store: &live.store,
        runtime: &live.runtime,
        workers: live.workers,
        busy_workers: live.jobs.busy.load(std::sync::atomic::Ordering::Relaxed),
        daily_token_budget: site.daily_token_budget,
        now: Timestamp::now(),
    }
}

/// An HTML view: 303 to the login page without a session.
fn view(site: &StatusSite, request: &Request, view: View) -> Response {
    let Some(csrf) = session(site, request) else {
        return Response::redirect_303("/status/login");
    };
    let src = sources(site);
    let body = match view {
        View::Overview => Ok(views::overview(&data::overview(&src))),
        View::Schedules => data::schedules(src.store).map(|rows| views::schedules(&rows)),
        View::Jobs => data::jobs(src.store).map(|rows| views::jobs(&rows)),
        View::Plots => data::plots(&src).map(|p| views::plots(&p)),
    };
    match body {
        Ok(body) => Response::html(views::page(view, &csrf, &body)),
        Err(e) => Response::html(views::page(
            view,
            &csrf,
            &format!(
                r#"<p class="error" role="alert">The database did not answer: {}</p>"#,
                super::html::escape(&e.to_string())
            ),
        ))
        .with_status_code(503),
    }
}

/// A JSON view: 401 JSON without a session.
fn api(site: &StatusSite, request: &Request, slug: &str) -> Response {
    if session(site, request).is_none() {
        return ApiError::unauthorized(
            "log in first: POST /status/login with the password and the csrf token from the sb_login_csrf cookie, then send the sb_session cookie",
        )
        .response();
    }
    let Some(view) = View::from_slug(slug) else {
        return ApiError::not_found(format!(
            "no status API {slug:?}; try overview, schedules, jobs or plots"
        ))
        .response();
    };
    let src = sources(site);
    let value = match view {
        View::Overview => serde_json::to_value(data::overview(&src)).map_err(|e| e.to_string()),
        View::Schedules => data::schedules(src.store)
            .map_err(|e| e.to_string())
            .and_then(|rows| json_of(&serde_json::json!({ "schedules": rows }))),
        View::Jobs => data::jobs(src.store)
            .map_err(|e| e.to_string())
            .and_then(|rows| json_of(&serde_json::json!({ "jobs": rows }))),
        View::Plots => data::plots(&src)
            .map_err(|e| e.to_string())
            .and_then(|p| json_of(&p)),
    };
    match value {
        Ok(v) => Response::json(&v),
        Err(e) => ApiError::unavailable(e).response(),
    }
}

fn json_of(value: &impl serde::Serialize) -> Result<serde_json::Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}
