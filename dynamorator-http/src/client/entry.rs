//! What the manager stores for one response: http-cache's response and policy, the body as
//! base64 text beside them.

use http_cache::HttpResponse;
use http_cache_semantics::CachePolicy;
use serde::{Deserialize, Serialize};

/// One cached response, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredExchange {
    /// The response without its body (`body` is empty here).
    response: HttpResponse,
    policy: CachePolicy,
    #[serde(with = "crate::stored_bytes")]
    body: Vec<u8>,
}

impl StoredExchange {
    /// Takes the response apart to store it (no copy of the body).
    pub(crate) fn new(mut response: HttpResponse, policy: CachePolicy) -> Self {
        let body = std::mem::take(&mut response.body);
        StoredExchange {
            response,
            policy,
            body,
        }
    }

    /// The response (body put back) and its policy.
    pub(crate) fn into_parts(self) -> (HttpResponse, CachePolicy) {
        let StoredExchange {
            mut response,
            policy,
            body,
        } = self;
        response.body = body;
        (response, policy)
    }
}
