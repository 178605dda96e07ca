//! Accounts and tokens: register, login, the access-token checks, refresh rotation, logout.

use crate::helpers::{SECRET, assert_error, spawn_app};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn token(alg: Algorithm, secret: &str, sub: &str, exp_offset: i64, iss: &str, aud: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": sub, "iat": now, "exp": now + exp_offset, "iss": iss, "aud": aud});
    jsonwebtoken::encode(&Header::new(alg), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn register_returns_the_user_and_working_tokens() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/auth/register",
            None,
            json!({"email": "ada@example.com", "password": "correct horse", "display_name": "Ada"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800);
    let me: Value = app.get("/users/me", body["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["user_id"], body["user_id"]);
    assert_eq!(me["display_name"], "Ada");
}

#[tokio::test]
async fn registration_is_validated_and_emails_are_unique() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    let again =
        app.post("/auth/register", None, json!({"email": "ADA@example.com", "password": "another password"})).await;
    assert_error(again, StatusCode::CONFLICT, "email_taken").await;
    let bad_email = app.post("/auth/register", None, json!({"email": "not-an-email", "password": "long enough"})).await;
    let body = assert_error(bad_email, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["error"]["field"], "email");
    let short = app.post("/auth/register", None, json!({"email": "bo@example.com", "password": "short"})).await;
    assert_error(short, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let missing = app.post("/auth/register", None, json!({"email": "bo@example.com"})).await;
    assert_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn login_accepts_the_right_password_only() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let ok =
        app.post("/auth/login", None, json!({"email": "ada@example.com", "password": "correct horse battery"})).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["user_id"], user.id.as_str());
    assert!(body["refresh_token"].as_str().is_some());
    let wrong = app.post("/auth/login", None, json!({"email": "ada@example.com", "password": "wrong password"})).await;
    assert_error(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let unknown =
        app.post("/auth/login", None, json!({"email": "nobody@example.com", "password": "whatever123"})).await;
    assert_error(unknown, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn bad_access_tokens_get_401() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let sub = user.id.as_str();
    let (iss, aud) = ("storymimi", "storymimi-app");
    let header_none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload =
        URL_SAFE_NO_PAD.encode(json!({"sub": sub, "exp": 4_000_000_000i64, "iss": iss, "aud": aud}).to_string());
    let mut tampered = user.token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let cases = [
        ("expired", token(Algorithm::HS256, SECRET, sub, -3600, iss, aud)),
        ("alg none", format!("{header_none}.{payload}.")),
        ("HS512", token(Algorithm::HS512, SECRET, sub, 600, iss, aud)),
        ("wrong secret", token(Algorithm::HS256, "another-secret-another-secret-0123", sub, 600, iss, aud)),
        ("wrong audience", token(Algorithm::HS256, SECRET, sub, 600, iss, "someone-else")),
        ("wrong issuer", token(Algorithm::HS256, SECRET, sub, 600, "evil", aud)),
        ("tampered", tampered),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, bad) in cases {
        let response = app.get("/users/me", &bad).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
    }
    let valid = token(Algorithm::HS256, SECRET, sub, 600, iss, aud);
    assert_eq!(app.get("/users/me", &valid).await.status(), StatusCode::OK, "a well-formed token works");
    let no_header = app.client.get(app.url("/users/me")).send().await.unwrap();
    assert_error(no_header, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let first = app.post("/auth/refresh", None, json!({"refresh_token": user.refresh})).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, user.refresh);
    assert_eq!(app.get("/users/me", first["access_token"].as_str().unwrap()).await.status(), StatusCode::OK);

    // The old token comes back: treat it as stolen and sign the whole family out.
    let reuse = app.post("/auth/refresh", None, json!({"refresh_token": user.refresh})).await;
    assert_error(reuse, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let after = app.post("/auth/refresh", None, json!({"refresh_token": rotated})).await;
    assert_error(after, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // A separate login is a separate family and still works.
    let login: Value = app
        .post("/auth/login", None, json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .await
        .json()
        .await
        .unwrap();
    let fresh = app.post("/auth/refresh", None, json!({"refresh_token": login["refresh_token"]})).await;
    assert_eq!(fresh.status(), StatusCode::OK);
    let unknown = app.post("/auth/refresh", None, json!({"refresh_token": "made-up"})).await;
    assert_error(unknown, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let user = app.register("ada@example.com").await;
    let out = app.post("/auth/logout", None, json!({"refresh_token": user.refresh})).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let refresh = app.post("/auth/refresh", None, json!({"refresh_token": user.refresh})).await;
    assert_error(refresh, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn users_may_read_only_themselves() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bo = app.register("bo@example.com").await;
    assert_eq!(app.get(&format!("/users/{}", ada.id), &ada.token).await.status(), StatusCode::OK);
    assert_error(app.get(&format!("/users/{}", ada.id), &bo.token).await, StatusCode::FORBIDDEN, "forbidden").await;
    // The seed's POST /users/ creates an account too.
    let created = app
        .post("/users/", None, json!({"email": "cy@example.com", "password": "long enough", "username": "Cy"}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["display_name"], "Cy");
}

#[tokio::test]
async fn a_token_of_an_account_that_no_longer_exists_gets_401() {
    let app = crate::helpers::spawn_app().await;
    let user = app.register("gone@example.com").await;
    let db = storymimi::db::Db::open(&app.config.db_path(), 1).await.unwrap();
    db.writer().await.execute("DELETE FROM users WHERE id = ?1", [user.id.clone()]).await.unwrap();
    let response = app.post("/stories/", Some(&user.token), serde_json::json!({"prompt": "a fox"})).await;
    crate::helpers::assert_error(response, reqwest::StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn signing_out_ends_the_sessions_access_tokens_even_across_a_restart() {
    let app = crate::helpers::spawn_app().await;
    let user = app.register("ada@example.com").await;
    assert_eq!(app.get("/users/me", &user.token).await.status(), reqwest::StatusCode::OK);
    let out = app.post("/auth/logout", None, serde_json::json!({"refresh_token": user.refresh})).await;
    assert_eq!(out.status(), reqwest::StatusCode::NO_CONTENT);
    let after = app.get("/users/me", &user.token).await;
    let body = crate::helpers::assert_error(after, reqwest::StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("signed out"), "{body}");
    let url = crate::ws_client::ws_url(&app, &user.id);
    let socket = crate::ws_client::try_connect(&url, crate::ws_client::Auth::Header(&user.token), &[]).await;
    assert_eq!(socket.err(), Some(reqwest::StatusCode::UNAUTHORIZED));

    // Another sign-in of the same account is a different session: unaffected.
    let login = app
        .post("/auth/login", None, serde_json::json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .await;
    let fresh: serde_json::Value = login.json().await.unwrap();
    let fresh = fresh["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/users/me", &fresh).await.status(), reqwest::StatusCode::OK);

    let (config, data) = app.stop().await;
    let app = crate::helpers::start(config, data, storymimi::Overrides::default()).await;
    assert_eq!(
        app.get("/users/me", &user.token).await.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "still after a restart"
    );
    assert_eq!(app.get("/users/me", &fresh).await.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn a_socket_closes_when_its_token_expires() {
    let app =
        crate::helpers::spawn_app_with(|c| c.auth.access_token_ttl_secs = 2, storymimi::Overrides::default()).await;
    let user = app.register("ada@example.com").await;
    let (mut ws, _, _) = crate::ws_client::connect(&app, &user).await;
    let started = std::time::Instant::now();
    assert_eq!(ws.closed().await, Some(4001), "told to come back with a fresh token");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}
