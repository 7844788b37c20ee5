//! Requests the server makes to addresses its users name (alert webhooks, Slack-style
//! notification webhooks): which addresses count as public, and the HTTP client that
//! connects only to those.
//!
//! A URL's host is checked when it is registered and again before each delivery, but a
//! name can resolve to a public address for the check and to a private one a moment later
//! (DNS rebinding). So the delivery client resolves names itself and keeps only public
//! addresses: what it connects to is what was checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::alerts::{WebhookPolicy, WebhookTargets};

/// Whether `address` is a public unicast address: not loopback, private, link-local,
/// shared, documentation, benchmarking, reserved, multicast or unspecified, nor an IPv6
/// form carrying an IPv4 address that is not public (mapped, compatible, NAT64, 6to4).
pub fn public_address(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_documentation()
        || v4.is_multicast()
        || a == 0
        // Shared address space (carrier-grade NAT).
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, and the deprecated 6to4 relay anycast.
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 88 && c == 99)
        // Benchmarking.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved.
        || a >= 240)
}

fn public_v6(v6: Ipv6Addr) -> bool {
    let segments = v6.segments();
    let embedded = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    if let Some(v4) = v6.to_ipv4_mapped() {
        return public_v4(v4);
    }
    match segments {
        // ::/96: unspecified, loopback and the deprecated IPv4-compatible addresses.
        [0, 0, 0, 0, 0, 0, _, _] => false,
        // NAT64's well-known prefix carries the IPv4 address it reaches; its local-use
        // prefix (64:ff9b:1::/48) is private.
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => public_v4(embedded(high, low)),
        [0x64, 0xff9b, 1, ..] => false,
        // 6to4 carries the IPv4 address of its relay.
        [0x2002, high, low, ..] => public_v4(embedded(high, low)),
        // Discard-only.
        [0x100, 0, 0, 0, ..] => false,
        // IETF protocol assignments (Teredo, benchmarking, ORCHID, ...) and documentation.
        [0x2001, second, ..] if second < 0x200 || second == 0xdb8 => false,
        [0x3fff, second, ..] if second < 0x1000 => false,
        [first, ..] => {
            !(v6.is_multicast()
                // Unique local, link-local, and the deprecated site-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0)
        }
    }
}

/// Resolves with `R`, then keeps only public addresses (an error if none is left).
#[derive(Debug)]
pub struct PublicOnly<R>(pub R);

impl<R: Resolve> Resolve for PublicOnly<R> {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let resolving = self.0.resolve(name);
        Box::pin(async move {
            let public: Vec<SocketAddr> = resolving.await?.filter(|address| public_address(address.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The operating system's resolver.
#[derive(Debug)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// The client deliveries are sent with: the policy's timeout, no redirects (a public
/// target could send the request somewhere private), and with [`WebhookTargets::Public`]
/// only public addresses connected to, through no proxy (a proxy would resolve the name
/// where it cannot be checked).
pub fn delivery_client(policy: &WebhookPolicy) -> reqwest::Result<reqwest::Client> {
    client_resolving_with(policy, SystemResolver)
}

/// [`delivery_client`] resolving names with `resolver`.
pub fn client_resolving_with<R: Resolve + 'static>(policy: &WebhookPolicy, resolver: R) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder().timeout(policy.timeout).redirect(reqwest::redirect::Policy::none());
    match policy.targets {
        WebhookTargets::Any => builder.dns_resolver(Arc::new(resolver)).build(),
        WebhookTargets::Public => builder.no_proxy().dns_resolver(Arc::new(PublicOnly(resolver))).build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.1.2.3",
            "192.0.0.1",
            "192.0.2.1",
            "192.88.99.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::808:808",
            "2002:7f00:1::",
            "2002:c0a8:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:10::1",
            "2001:db8::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            let address: IpAddr = private.parse().unwrap();
            assert!(!public_address(address), "{private} is not public");
        }
        for public in ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2606:4700::1111", "2a00:1450::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"] {
            let address: IpAddr = public.parse().unwrap();
            assert!(public_address(address), "{public} is public");
        }
    }

    /// Answers every name with the addresses it holds, as a DNS server that rebinds a name
    /// to a private address after it was checked would.
    struct Fixed(Vec<SocketAddr>);

    impl Resolve for Fixed {
        fn resolve(&self, _name: Name) -> Resolving {
            let addresses = self.0.clone();
            Box::pin(async move { Ok(Box::new(addresses.into_iter()) as Addrs) })
        }
    }

    /// A name resolving to loopback at delivery reaches nothing under the public policy;
    /// the same client under `any` reaches the listener, so the listener is reachable.
    #[tokio::test]
    async fn a_name_resolving_to_a_private_address_is_not_connected_to() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&received);
        let app = axum::Router::new().fallback(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "ok" }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("http://hooks.example.com:{port}/alert");
        let loopback = || Fixed(vec![SocketAddr::from(([127, 0, 0, 1], 0))]);

        let public = WebhookPolicy { targets: WebhookTargets::Public, ..WebhookPolicy::default() };
        let error = client_resolving_with(&public, loopback()).unwrap().post(&url).send().await.expect_err("refused");
        assert!(error.is_connect(), "{error:?}");
        assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 0);

        let any = WebhookPolicy { targets: WebhookTargets::Any, ..WebhookPolicy::default() };
        let answer = client_resolving_with(&any, loopback()).unwrap().post(&url).send().await.unwrap();
        assert!(answer.status().is_success());
        assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// Of the addresses a name resolves to, the public ones are kept.
    #[tokio::test]
    async fn public_addresses_of_a_name_are_kept() {
        let resolver = PublicOnly(Fixed(vec![SocketAddr::from(([10, 0, 0, 1], 0)), SocketAddr::from(([8, 8, 8, 8], 0))]));
        let kept: Vec<SocketAddr> = resolver.resolve("hooks.example.com".parse().unwrap()).await.unwrap().collect();
        assert_eq!(kept, [SocketAddr::from(([8, 8, 8, 8], 0))]);
    }
}
