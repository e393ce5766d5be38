//! The whole route table, from the server's own OpenAPI document: without a token every API
//! route answers 401; with a token one role too low, 403; with the role the document names,
//! neither.

use reqwest::Method;
use serde_json::Value;

use crate::Server;

#[tokio::test]
async fn every_route_refuses_the_anonymous_and_the_too_lowly() {
    let (_dir, server) = Server::start_fresh();
    let admin = server.admin_token().await;
    let client = reqwest::Client::new();
    let mut tokens = std::collections::HashMap::new();
    for role in ["ingest", "viewer", "responder", "commander", "admin"] {
        tokens.insert(role, server.token(&admin, role).await);
    }
    let created =
        server.cli(&admin, &["incident", "create", "--title", "route walk", "--severity", "SEV4"]);
    assert!(created.status.success());

    // Bouncer 1 is revoked by the walk (`/api/v1/bouncers/1/revoke`); bouncer 2's key is used.
    let mut bouncer = Value::Null;
    for name in ["revoked by the walk", "route walk"] {
        bouncer = client
            .post(server.url("/api/v1/bouncers"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    let bouncer_key = bouncer["key"].as_str().unwrap().to_owned();
    let mut bouncer_routes = 0;
    let doc: Value =
        client.get(server.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    let mut state_changing = 0;
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let path_with_values = path
                .replace("{rule}", "gdpr-33")
                .replace("{role}", "scribe")
                .replace(['{', '}'], "")
                .replace("/id", "/1")
                .replace("/evidence/evidence", "/evidence/1")
                .replace("/tasks/task", "/tasks/1");
            let url = server.url(&path_with_values);
            let send = |token: Option<&str>| {
                let mut request = client
                    .request(method.clone(), &url)
                    .header("content-type", "application/json")
                    .body("{}");
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                request.send()
            };
            if operation["security"][0]["bouncer"].is_array() {
                // Bouncer routes answer as CrowdSec does: 403 without a valid key, whatever
                // bearer token comes with the request; with a bouncer's key, neither.
                let send_key = |key: Option<&str>| {
                    let mut request = client.request(method.clone(), &url);
                    if let Some(key) = key {
                        request = request.header("x-api-key", key);
                    }
                    request.bearer_auth(&admin).send()
                };
                assert_eq!(
                    send_key(None).await.unwrap().status(),
                    403,
                    "{method} {path} without a key"
                );
                let bad = send_key(Some("fbk_not-a-real-key")).await.unwrap().status();
                assert_eq!(bad, 403, "{method} {path} with a bad key");
                let status = send_key(Some(&bouncer_key)).await.unwrap().status();
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} with a bouncer key: {status}"
                );
                bouncer_routes += 1;
                continue;
            }
            let Some(scopes) = operation["security"][0]["token"].as_array() else {
                assert_eq!(path, "/api/v1/auth/login", "only login may be open: {method} {path}");
                continue;
            };
            let needed = scopes[0].as_str().unwrap();
            if method != Method::GET {
                state_changing += 1;
            }
            assert_eq!(send(None).await.unwrap().status(), 401, "{method} {path} without a token");
            assert_eq!(
                send(Some("fbk_not-a-real-token")).await.unwrap().status(),
                401,
                "{method} {path} with a bad token"
            );
            let below = match needed {
                "setup" => Some("admin"),
                "ingest" => None,
                "viewer" => Some("ingest"),
                "responder" => Some("viewer"),
                "commander" => Some("responder"),
                "admin" => Some("commander"),
                other => panic!("{method} {path} names an unknown role `{other}`"),
            };
            if let Some(below) = below {
                let status = send(Some(&tokens[below])).await.unwrap().status();
                assert_eq!(status, 403, "{method} {path} with a {below} token (needs {needed})");
            }
            if needed != "setup" {
                let status = send(Some(&tokens[needed])).await.unwrap().status();
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} with a {needed} token answered {status}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 14, "only {checked} routes in the OpenAPI document");
    assert_eq!(bouncer_routes, 3, "the decisions stream, the decisions query and the check");
    assert!(state_changing >= 8, "only {state_changing} state-changing routes");
    // Closing takes a commander even though other transitions take a responder.
    let close = client
        .post(server.url("/api/v1/incidents/1/status"))
        .bearer_auth(&tokens["responder"])
        .json(&serde_json::json!({"status": "closed", "reason": "false positive"}))
        .send()
        .await
        .unwrap();
    assert_eq!(close.status(), 403);
    let audit: Value = client
        .get(server.url("/api/v1/audit?limit=1000"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anonymous_refusals = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["actor"] == "anonymous" && r["status"] == 401)
        .count();
    assert!(anonymous_refusals >= state_changing, "refused state-changing calls are audited too");
    server.stop();
}
