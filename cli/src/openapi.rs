//! The whole API's OpenAPI document: every function's description merged. `printcloud
//! openapi` prints it; `api/openapi.json` holds it for `auth` to serve.

use utoipa::openapi::OpenApi;

/// The merged description of every function's routes.
pub fn document() -> OpenApi {
    let parts = [
        auth::openapi(),
        enroll::openapi(),
        job_submit::openapi(),
        release::openapi(),
        quota_debit::openapi(),
        email_inbound::openapi(),
        notification_policy::openapi(),
        workflow_step::openapi(),
    ];
    parts.into_iter().fold(shared::http::openapi::base(), OpenApi::merge_from)
}

/// The document as `api/openapi.json` holds it.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_served_document_is_what_the_functions_describe() {
        assert_eq!(
            auth::OPENAPI_JSON,
            super::document_json(),
            "api/openapi.json is stale: run `cargo run -p printcloud -- openapi > api/openapi.json`"
        );
    }
}

/// Every documented operation reaches, through the SAM template's HTTP API routes, the
/// function that serves it: API Gateway picks the most specific matching route, so the
/// check does the same.
#[cfg(test)]
mod routing {
    const TEMPLATE: &str = include_str!("../../infra/template.yaml");

    /// `(function binary, route path)` of every HttpApi event in the template.
    fn routes() -> Vec<(String, String)> {
        let mut owner = String::new();
        let mut routes = Vec::new();
        for line in TEMPLATE.lines().map(str::trim) {
            if let Some(binary) = line.strip_prefix("Binary: ") {
                owner = binary.to_string();
            } else if let Some(path) = line.strip_prefix("Path: ") {
                routes.push((owner.clone(), path.trim_matches('"').to_string()));
            }
        }
        routes
    }

    /// How specifically `route` matches `path` (literal segments count most), if at all.
    fn specificity(route: &str, path: &str) -> Option<(usize, usize)> {
        let (route, path): (Vec<&str>, Vec<&str>) = (route.split('/').collect(), path.split('/').collect());
        let mut literals = 0;
        for (i, segment) in route.iter().enumerate() {
            if *segment == "{proxy+}" {
                return (path.len() > i).then_some((literals, i));
            }
            let given = path.get(i)?;
            if segment.starts_with('{') {
                continue;
            }
            if segment != given {
                return None;
            }
            literals += 1;
        }
        (route.len() == path.len()).then_some((literals, route.len() + 1))
    }

    #[test]
    fn every_documented_route_reaches_its_function_on_aws() {
        let routes = routes();
        let functions = [
            ("auth", auth::openapi()),
            ("enroll", enroll::openapi()),
            ("job-submit", job_submit::openapi()),
            ("release", release::openapi()),
            ("quota-debit", quota_debit::openapi()),
            ("email-inbound", email_inbound::openapi()),
            ("notification-policy", notification_policy::openapi()),
            ("workflow-step", workflow_step::openapi()),
        ];
        for (function, document) in functions {
            for path in document.paths.paths.keys() {
                let best = routes
                    .iter()
                    .filter_map(|(owner, route)| specificity(route, path).map(|s| (s, owner, route)))
                    .max_by_key(|(s, _, _)| *s);
                let Some((_, owner, route)) = best else { panic!("{path} of {function} has no route in the template") };
                assert_eq!(owner, function, "{path} of {function} is routed by `{route}` to {owner}");
            }
        }
    }
}
