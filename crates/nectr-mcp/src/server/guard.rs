//! DNS-rebinding protection, as the MCP specification requires of HTTP servers: a request's
//! `Host` must name an allowed host, and its `Origin`, when it has one, must be a web origin on
//! an allowed host. The allowed hosts are the loopback names and the host Nectr is published
//! at (`BACKEND_URL`); ports are not compared, as one Nectr may be reached on several.
//! Both transports apply this one check before anything else (403 otherwise); rmcp's own check
//! on Streamable HTTP is given the same list.

use actix_web::http::header::{self, HeaderMap};

use super::http_error::Refusal;

/// The loopback names every Nectr answers to.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The host names MCP requests may name in `Host` and `Origin`, lower case, without brackets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHosts {
    names: Vec<String>,
}

/// A host name compared the way DNS does: lower case, IPv6 without its brackets.
fn normalized(host: &str) -> String {
    host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

impl AllowedHosts {
    /// The loopback names and the host of `backend_url` (for example `https://nectr.example.com`);
    /// a URL without a host adds nothing.
    pub fn new(backend_url: &str) -> Self {
        let backend = backend_url
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| uri.host().map(normalized))
            .filter(|host| !host.is_empty());
        let mut names: Vec<String> = LOOPBACK_HOSTS.iter().map(|name| (*name).to_owned()).collect();
        if let Some(backend) = backend.filter(|host| !names.contains(host)) {
            names.push(backend);
        }
        Self { names }
    }

    /// The allowed names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn allows(&self, host: &str) -> bool {
        let host = normalized(host);
        self.names.contains(&host)
    }

    /// Passes a request whose `Host` and `Origin` are allowed.
    ///
    /// # Errors
    /// [`Refusal::Host`] or [`Refusal::Origin`] (403).
    pub(crate) fn admit(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let admitted = self.check(headers);
        if let Err(refusal) = admitted {
            tracing::warn!(refusal = %refusal, "refused an MCP request (possible DNS rebinding)");
        }
        admitted
    }

    fn check(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse::<http::uri::Authority>().ok())
            .ok_or(Refusal::Host)?;
        if !self.allows(host.host()) {
            return Err(Refusal::Host);
        }
        let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
        let origin = origin
            .to_str()
            .ok()
            .and_then(|text| text.parse::<http::Uri>().ok())
            .ok_or(Refusal::Origin)?;
        let web = matches!(origin.scheme_str(), Some("http" | "https"));
        match origin.host() {
            Some(host) if web && self.allows(host) => Ok(()),
            _ => Err(Refusal::Origin),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn headers(host: &'static str, origin: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    #[test]
    fn loopback_and_the_backend_host_are_allowed_on_any_port() {
        let hosts = AllowedHosts::new("https://Nectr.Example.com:8443/api");
        assert_eq!(hosts.names(), ["localhost", "127.0.0.1", "::1", "nectr.example.com"]);
        for host in ["localhost:8000", "127.0.0.1", "[::1]:9", "nectr.example.com"] {
            assert_eq!(hosts.check(&headers(host, None)), Ok(()), "{host}");
        }
        assert_eq!(hosts.check(&headers("evil.example:8000", None)), Err(Refusal::Host));
        assert_eq!(hosts.check(&headers("localhost.evil.example", None)), Err(Refusal::Host));
        assert_eq!(hosts.check(&HeaderMap::new()), Err(Refusal::Host));
    }

    #[test]
    fn an_origin_must_be_a_web_origin_on_an_allowed_host() {
        let hosts = AllowedHosts::new("http://nectr.test:8000");
        assert_eq!(hosts.check(&headers("localhost", Some("http://localhost:6274"))), Ok(()));
        assert_eq!(hosts.check(&headers("localhost", Some("https://nectr.test"))), Ok(()));
        for origin in ["https://evil.example", "null", "file://localhost", "not a url"] {
            let mut map = headers("localhost", None);
            map.insert(header::ORIGIN, HeaderValue::from_static(origin));
            assert_eq!(hosts.check(&map), Err(Refusal::Origin), "{origin}");
        }
    }

    #[test]
    fn a_backend_url_without_a_host_adds_nothing() {
        assert_eq!(AllowedHosts::new("").names().len(), LOOPBACK_HOSTS.len());
        assert_eq!(AllowedHosts::new("http://localhost:8000").names().len(), 3);
    }
}
