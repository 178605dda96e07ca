//! The browser client is served by the binary: the page, its script and style with exact types,
//! ETags, and a strict Content-Security-Policy; the stable test hooks are on the page.

use crate::helpers::spawn_app;
use reqwest::StatusCode;

#[tokio::test]
async fn the_page_its_script_and_style_are_served_strictly() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("object-src 'none'"),
            "{csp}"
        );
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let again = app.client.get(app.url(path)).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let page = app.client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    for hook in [
        "email",
        "password",
        "register",
        "login",
        "message-input",
        "send",
        "requirements",
        "make-story",
        "story-progress",
        "logout",
    ] {
        assert!(page.contains(&format!("data-testid=\"{hook}\"")), "hook {hook}");
    }
    assert!(!page.contains("<script>") && !page.contains("style="), "nothing inline");
    assert!(!page.contains("http://") && !page.contains("https://"), "nothing from another origin");
    let script = app.client.get(app.url("/app.js")).send().await.unwrap().text().await.unwrap();
    for hook in ["agent-message", "scene", "scene-image", "scene-text", "scene-audio", "library-item"] {
        assert!(script.contains(&format!("\"{hook}\"")), "hook {hook} set by the script");
    }
}
