//! The web role's guards: requests from other sites, and the rate limits.
//!
//! **Cross-site requests.** A state-changing request (any method but GET, HEAD, OPTIONS) is
//! refused with 403 when the browser says it comes from another site: `Sec-Fetch-Site:
//! cross-site`, or, from browsers that do not send that header, an `Origin` that is neither
//! the public URL's nor the request's own host's (`Origin: null` included). Same-origin and
//! same-site requests, and requests without either header (non-browser clients, which carry
//! no cookies or ambient authority of a customer anyway), are accepted.
//!
//! **Rate limits** (GCRA, the `governor` crate): pages, JSON reads and pictures per client
//! address; presses of Play per client address; presses per customer (checked by the
//! handlers, after the link is verified, so nobody can use up another customer's allowance).
//! The client address is the peer's, or, when the peer is a trusted proxy, the last address
//! in `X-Forwarded-For` (else `Forwarded: for=`) that is not itself a trusted proxy. IPv6
//! clients are counted per /64. Each limit remembers `limits.max_tracked` clients at most:
//! past it, newcomers share one allowance until the upkeep forgets clients whose allowance
//! is full again.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use cloudhp_i18n::Lang;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use cloudhp_core::CustomerId;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use ipnet::IpNet;

use super::page::PageError;
use crate::config::LimitsConfig;

/// A keyed limit, bounded in the clients it remembers: past `max_tracked`, newcomers share
/// the allowance of the key `None`.
struct Limit<K: std::hash::Hash + Eq + Clone> {
    name: &'static str,
    limiter: DefaultKeyedRateLimiter<Option<K>>,
    max_tracked: usize,
}

impl<K: std::hash::Hash + Eq + Clone> Limit<K> {
    fn new(name: &'static str, per_minute: u32, burst: u32, max_tracked: u32) -> Self {
        let one = NonZeroU32::MIN;
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(one))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(one));
        Self {
            name,
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            max_tracked: max_tracked.max(1) as usize,
        }
    }

    /// `Err(wait)` when the key has used its allowance.
    fn check(&self, key: &K) -> Result<(), Duration> {
        let key = (self.limiter.len() < self.max_tracked).then(|| key.clone());
        self.limiter.check_key(&key).map_err(|not_until| {
            metrics::counter!("cloudhp_rate_limited_total", "limit" => self.name).increment(1);
            not_until.wait_time_from(DefaultClock::default().now())
        })
    }

    fn upkeep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        metrics::gauge!("cloudhp_rate_limit_clients", "limit" => self.name)
            .set(self.limiter.len() as f64);
    }
}

/// The guards of one web role.
pub struct Guard {
    origins: Vec<String>,
    proxies: Vec<IpNet>,
    limits: Option<Limits>,
    /// The language of its refusal pages when the browser names none we have.
    language: Lang,
}

struct Limits {
    pages: Limit<IpAddr>,
    plays: Limit<IpAddr>,
    customers: Limit<CustomerId>,
}

impl Guard {
    pub fn new(public_url: &str, proxies: Vec<IpNet>, config: &LimitsConfig) -> Arc<Self> {
        Self::speaking(public_url, proxies, config, Lang::english())
    }

    /// A guard whose refusal pages are in `language` unless the browser asks for another.
    pub fn speaking(
        public_url: &str,
        proxies: Vec<IpNet>,
        config: &LimitsConfig,
        language: Lang,
    ) -> Arc<Self> {
        let origins = url::Url::parse(public_url)
            .map(|u| vec![u.origin().ascii_serialization()])
            .unwrap_or_default();
        let limits = config.enabled.then(|| Limits {
            pages: Limit::new(
                "page",
                config.pages_per_minute,
                config.pages_burst,
                config.max_tracked,
            ),
            plays: Limit::new(
                "play_address",
                config.plays_per_minute,
                config.plays_burst,
                config.max_tracked,
            ),
            customers: Limit::new(
                "play_customer",
                config.customer_plays_per_minute,
                config.customer_plays_burst,
                config.max_tracked,
            ),
        });
        Arc::new(Self {
            origins,
            proxies,
            limits,
            language,
        })
    }

    /// Forgets the clients whose allowance is whole again; run every few seconds.
    pub fn upkeep(&self) {
        if let Some(l) = &self.limits {
            l.pages.upkeep();
            l.plays.upkeep();
            l.customers.upkeep();
        }
    }

    /// One more press of Play by this customer.
    pub fn customer_play(&self, id: CustomerId) -> Result<(), Duration> {
        match &self.limits {
            Some(l) => l.customers.check(&id),
            None => Ok(()),
        }
    }

    pub(super) fn trusted(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request: see the module documentation.
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> IpAddr {
        let peer = peer.map_or(IpAddr::from([127, 0, 0, 1]), |p| p.ip().to_canonical());
        if !self.trusted(peer) {
            return peer;
        }
        let mut hops: Vec<IpAddr> = forwarded_for(headers);
        hops.reverse();
        hops.iter()
            .copied()
            .find(|ip| !self.trusted(*ip))
            .or_else(|| hops.last().copied())
            .unwrap_or(peer)
    }

    /// Whether the browser says this request comes from another site.
    fn cross_site(&self, headers: &HeaderMap) -> bool {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        if let Some(site) = text("sec-fetch-site") {
            return site.eq_ignore_ascii_case("cross-site");
        }
        let Some(origin) = text(header::ORIGIN.as_str()) else {
            return false;
        };
        let origin = origin.trim().trim_end_matches('/');
        if self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
            return false;
        }
        // Served under another name than the public URL's (a test, an internal name): the
        // request's own host is its origin.
        let host = text(header::HOST.as_str()).unwrap_or("");
        let own = !host.is_empty()
            && ["http://", "https://"]
                .iter()
                .any(|scheme| origin.eq_ignore_ascii_case(&format!("{scheme}{host}")));
        !own
    }
}

/// The addresses of `X-Forwarded-For` (all its headers, in order), else of `Forwarded: for=`.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let xff: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| parse_node(a.trim()))
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("for")
                .then(|| parse_node(v.trim().trim_matches('"')))
                .flatten()
        })
        .collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:80`, `2001:db8::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    s.strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|ip| ip.parse::<IpAddr>().ok())
}

/// What a limit counts a client by: IPv4 addresses one by one, IPv6 by /64 (one subscriber).
pub(super) fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

fn is_api(request: &Request) -> bool {
    request.uri().path().starts_with("/api/")
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A refusal in the form the client reads: JSON for the API, a page otherwise.
fn refuse(guard: &Guard, request: &Request, error: PageError) -> Response {
    if is_api(request) {
        error.json()
    } else {
        error.page(super::page_language(
            guard.language,
            None,
            request.headers(),
        ))
    }
}

/// The middleware of the web routes.
pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let safe = is_safe(request.method());
    if !safe && guard.cross_site(request.headers()) {
        metrics::counter!("cloudhp_cross_site_refused_total").increment(1);
        return refuse(&guard, &request, PageError::cross_site());
    }
    if let Some(limits) = &guard.limits {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let client = client_key(guard.client(peer, request.headers()));
        let limit = if safe { &limits.pages } else { &limits.plays };
        if let Err(wait) = limit.check(&client) {
            return refuse(&guard, &request, PageError::rate_limited(wait));
        }
    }
    next.run(request).await
}

/// `Retry-After` in whole seconds, at least 1.
pub fn retry_after(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(proxies: &[&str]) -> Arc<Guard> {
        let proxies = proxies.iter().map(|p| p.parse().unwrap()).collect();
        Guard::new(
            "https://play.shop.example",
            proxies,
            &LimitsConfig::default(),
        )
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let g = guard(&["10.0.9.0/24"]);
        let peer = |ip: &str| Some(SocketAddr::new(ip.parse().unwrap(), 5000));
        let forged = headers(&[("x-forwarded-for", "1.1.1.1")]);
        // From the Internet directly: the header is the client's word, ignored.
        assert_eq!(
            g.client(peer("203.0.113.7"), &forged),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        // Through HAProxy: the last address HAProxy appended, not what the client prepended.
        let via = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.4")]);
        assert_eq!(
            g.client(peer("10.0.9.3"), &via),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        let rfc = headers(&[("forwarded", "for=\"[2001:db8::1]:443\";proto=https")]);
        assert_eq!(
            g.client(peer("10.0.9.3"), &rfc),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        // A trusted peer without the header is the client.
        assert_eq!(
            g.client(peer("10.0.9.3"), &HeaderMap::new()),
            "10.0.9.3".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn cross_site_is_told_by_fetch_metadata_then_origin() {
        let g = guard(&[]);
        let host = ("host", "127.0.0.1:8080");
        assert!(g.cross_site(&headers(&[("sec-fetch-site", "cross-site"), host])));
        assert!(!g.cross_site(&headers(&[("sec-fetch-site", "same-origin"), host])));
        assert!(!g.cross_site(&headers(&[("sec-fetch-site", "same-site"), host])));
        assert!(!g.cross_site(&headers(&[("sec-fetch-site", "none"), host])));
        assert!(g.cross_site(&headers(&[("origin", "http://evil.example"), host])));
        assert!(g.cross_site(&headers(&[("origin", "null"), host])));
        assert!(!g.cross_site(&headers(&[("origin", "https://play.shop.example"), host])));
        assert!(!g.cross_site(&headers(&[("origin", "http://127.0.0.1:8080"), host])));
        assert!(!g.cross_site(&headers(&[host])));
    }

    #[test]
    fn the_memory_of_a_limit_is_bounded() {
        let limit = Limit::<IpAddr>::new("test", 60, 1, 100);
        for n in 0..10_000u32 {
            let _ = limit.check(&IpAddr::from(n.to_be_bytes()));
        }
        // The 100 first each got an entry; everyone after shares the overflow one.
        assert!(limit.limiter.len() <= 101, "{}", limit.limiter.len());
        assert!(limit.check(&IpAddr::from([9, 9, 9, 9])).is_err());
    }

    #[test]
    fn a_client_is_limited_and_told_when_to_come_back() {
        let limit = Limit::<IpAddr>::new("test", 60, 2, 100);
        let me = IpAddr::from([192, 0, 2, 1]);
        assert!(limit.check(&me).is_ok());
        assert!(limit.check(&me).is_ok());
        let wait = limit.check(&me).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(retry_after(wait), HeaderValue::from(1u64));
        // Someone else is not.
        assert!(limit.check(&IpAddr::from([192, 0, 2, 2])).is_ok());
    }
}
