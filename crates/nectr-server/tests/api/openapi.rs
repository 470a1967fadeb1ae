//! `GET /api/openapi.json` against the routes the application really registers: every
//! documented path and method is served (not an unknown route, not 405), every other method on
//! those paths is 405, and every path that `nectr-api` and the MCP server (`nectr-mcp`, mounted
//! into the same application) register is documented.

use std::collections::BTreeSet;

use nectr_testkit::spawn_app;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The paths `nectr-api` and the MCP server register (`get_only("…")` and `web::resource("…")`
/// in their sources).
fn registered_paths() -> BTreeSet<String> {
    let sources = ["/../nectr-api/src", "/../nectr-mcp/src/server"];
    let mut paths = BTreeSet::new();
    let mut folders: Vec<std::path::PathBuf> = sources
        .iter()
        .map(|source| std::path::PathBuf::from(format!("{}{source}", env!("CARGO_MANIFEST_DIR"))))
        .collect();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for opener in ["get_only(\"", "web::resource(\""] {
                for piece in text.split(opener).skip(1) {
                    let literal = piece.split('"').next().unwrap_or_default();
                    if literal.starts_with('/') {
                        paths.insert(literal.to_owned());
                    }
                }
            }
        }
    }
    paths
}

/// A concrete URL for a documented path: `{name}` parameters get sample values.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| match part.starts_with('{') {
            true => "1",
            false => part,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_document_lists_exactly_the_registered_routes() {
    let app = spawn_app().await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let paths = document["paths"].as_object().unwrap();
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    let registered = registered_paths();
    for mcp in ["/mcp", "/mcp/sse", "/mcp/messages"] {
        assert!(registered.contains(mcp), "the MCP route {mcp} is found: {registered:?}");
    }
    assert_eq!(documented, registered, "documented paths against registered ones");
    for (path, item) in paths {
        let url = app.url(&concrete(path));
        for method in METHODS {
            let request = app
                .client
                .request(method.to_uppercase().parse().unwrap(), &url)
                .bearer_auth("not-a-session")
                .header("content-type", "application/json")
                .body("{}");
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let unknown_route = status == 404
                && body["detail"].as_str().is_some_and(|detail| detail.starts_with("no route for"));
            match item.get(method) {
                Some(_) => assert!(
                    !unknown_route && status != 405,
                    "{method} {path} is documented but answers {status} {body}"
                ),
                None => assert_eq!(
                    (status, body["code"].as_str()),
                    (405, Some("method_not_allowed")),
                    "{method} {path} is not documented but is served"
                ),
            }
        }
    }
    // The dashboard's routes are described with their shapes.
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for schema in [
        "ReviewBody",
        "EventBody",
        "SummaryBody",
        "DayBody",
        "InsightsBody",
        "ApiKeyBody",
        "CreatedApiKeyBody",
    ] {
        assert!(schemas.contains_key(schema), "{schema}");
    }
    let review = &schemas["ReviewBody"]["properties"];
    for field in ["pr_status", "pr_title", "repo_name", "ai_summary", "files_analyzed"] {
        assert!(review.get(field).is_some(), "{field}");
    }
    // The MCP transports take a personal API key, and nothing else.
    for (path, method) in
        [("/mcp", "post"), ("/mcp", "get"), ("/mcp", "delete"), ("/mcp/sse", "get")]
    {
        let security = &paths[path][method]["security"];
        assert_eq!(security, &serde_json::json!([{"api_key": []}]), "{method} {path}");
    }
    assert_eq!(paths["/mcp/messages"]["post"]["security"], serde_json::json!([{"api_key": []}]));
    let scheme = &document["components"]["securitySchemes"]["api_key"];
    assert_eq!(
        (scheme["type"].as_str(), scheme["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    let created = &schemas["CreatedApiKeyBody"];
    assert!(created.to_string().contains("\"key\""), "the secret is documented: {created}");
    app.stop().await;
}
