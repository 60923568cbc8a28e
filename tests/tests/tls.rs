//! Devices syncing over TLS, as they do with a relay on the internet: a
//! certificate from a CA (files the relay reloads), a self-signed one
//! trusted by pin, one from an ACME server (Debian's pebble), and Caddy in
//! front of a plain relay. Each ends the way users care about: every
//! device exports the same journal.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use interlog_e2e::tls::{free_port, https_get, installed, Server, TestCa};
use interlog_e2e::{binary, eventually, eventually_within, Device, TestRelay};

fn relay_with(args: &[&str], env: &[(&str, &str)]) -> TestRelay {
    TestRelay::start_with(tempfile::tempdir().unwrap(), "127.0.0.1:0", args, env)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The join code `interlog pair` prints on `device`.
fn pair(device: &Device) -> String {
    device.json(&["pair"])["code"]
        .as_str()
        .expect("a join code")
        .to_string()
}

/// Laptop and phone, both watching, exchange an interview each way live,
/// then export the same journal.
fn live_both_ways(laptop: &Device, phone: &Device) {
    let _wl = laptop.watch();
    let _wp = phone.watch();
    let from_laptop = laptop.log(&["Initech", "--kind", "technical"]);
    eventually("the laptop's interview never reached the phone", || {
        phone.has_interview(&from_laptop)
    });
    let from_phone = phone.log(&["Globex", "--rating", "5"]);
    eventually("the phone's interview never reached the laptop", || {
        laptop.has_interview(&from_phone)
    });
    drop((_wl, _wp));
    laptop.ok(&["sync"]);
    phone.ok(&["sync"]);
    assert_eq!(laptop.export(), phone.export());
}

/// A laptop that registers through `url`, trusting the CA in `ca_file`, and
/// a phone that joins it; both then sync live and export the same journal.
fn laptop_and_phone_through(url: &str, ca_file: &Path) -> (Device, Device) {
    let laptop = Device::init().with_env("SSL_CERT_FILE", ca_file);
    laptop.log(&["Acme"]);
    laptop.ok(&["sync", "--relay", url]);
    let phone = Device::new().with_env("SSL_CERT_FILE", ca_file);
    phone.ok(&["join", &pair(&laptop)]);
    live_both_ways(&laptop, &phone);
    (laptop, phone)
}

#[test]
fn devices_sync_over_tls_with_a_certificate_from_a_private_ca() {
    let ca = TestCa::new();
    let (cert, key) = ca.issue("relay", &["localhost"]);
    let relay = relay_with(&["--tls-cert", path(&cert), "--tls-key", path(&key)], &[]);
    let url = format!("wss://localhost:{}", relay.port());

    // A device that does not trust the CA is refused, and told about
    // SSL_CERT_FILE; nothing is sent.
    let stranger = Device::init();
    let err = stranger.fails(&["sync", "--relay", &url]);
    assert!(
        err.contains("authority this device does not trust") && err.contains("SSL_CERT_FILE"),
        "{err}"
    );
    let laptop = Device::init().with_env("SSL_CERT_FILE", ca.ca_file());
    let first = laptop.log(&["Acme", "--rating", "4"]);
    // The certificate names localhost, not 127.0.0.1.
    let wrong = format!("wss://127.0.0.1:{}", relay.port());
    let err = laptop.fails(&["sync", "--relay", &wrong]);
    assert!(err.contains("not valid for the name"), "{err}");

    let out = laptop.run(&["sync", "--relay", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warned = String::from_utf8_lossy(&out.stderr);
    assert!(!warned.contains("not encrypted"), "{warned}");
    // The relay is also reachable directly over https.
    let (status, body) = https_get("localhost", relay.port(), "/healthz", &ca.ca_file()).unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"ok\n"[..]));
    // A pin the relay's key does not match is refused and not remembered;
    // `--pin none` is the CA roots again.
    let wrong = format!("sha256:{}", "cd".repeat(32));
    let err = laptop.fails(&["sync", "--pin", &wrong]);
    assert!(err.contains("different key"), "{err}");
    laptop.ok(&["sync"]);
    laptop.ok(&["sync", "--pin", "none"]);
    assert_eq!(
        laptop.json(&["sync", "status"])["pin"],
        serde_json::Value::Null
    );
    // A pin needs TLS to be checked: with ws:// it is refused, not ignored.
    let err = laptop.fails(&["sync", "--relay", "ws://localhost:1", "--pin", &wrong]);
    assert!(err.contains("not a wss:// URL"), "{err}");

    let phone = Device::new().with_env("SSL_CERT_FILE", ca.ca_file());
    phone.ok(&["join", &pair(&laptop)]);
    assert!(phone.has_interview(&first));
    live_both_ways(&laptop, &phone);
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart_and_a_broken_one_is_not() {
    let ca = TestCa::new();
    let (cert, key) = ca.issue("relay", &["localhost"]);
    let relay = relay_with(&["--tls-cert", path(&cert), "--tls-key", path(&key)], &[]);
    let url = format!("wss://localhost:{}", relay.port());
    let laptop = Device::init().with_env("SSL_CERT_FILE", ca.ca_file());
    laptop.ok(&["sync", "--relay", &url]);

    // A renewal caught half-written: the relay keeps the old certificate.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nMIIB").unwrap();
    eventually("the relay never noticed the broken certificate", || {
        relay.log().contains("do not load")
    });
    laptop.ok(&["sync"]);

    // An expired certificate is loaded, and devices refuse it saying why.
    ca.reissue(&cert, &key, &["localhost"], true);
    let mut err = String::new();
    eventually("devices never saw the expired certificate", || {
        let out = laptop.run(&["sync"]);
        err = String::from_utf8_lossy(&out.stderr).into_owned();
        !out.status.success()
    });
    assert!(err.contains("expired"), "{err}");

    // The renewal: syncing works again, with no restart.
    ca.reissue(&cert, &key, &["localhost"], false);
    eventually("the renewed certificate was never served", || {
        laptop.run(&["sync"]).status.success()
    });
    assert!(relay.log().contains("loaded the renewed TLS certificate"));
}

#[test]
fn a_self_signed_relay_is_trusted_by_the_pin_its_join_codes_carry() {
    let mut relay = relay_with(&["--tls", "self-signed"], &[]);
    let pin = relay.pin().expect("the relay logs its pin");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let tls = relay.data.path().join("tls");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&tls), 0o700);
        assert_eq!(mode(&tls.join("self-signed-key.pem")), 0o600);
    }
    let url = relay.url();
    let laptop = Device::init();
    let first = laptop.log(&["Acme"]);

    // Without the pin: an unknown issuer, and the way out.
    let err = laptop.fails(&["sync", "--relay", &url]);
    assert!(
        err.contains("does not trust") && err.contains("--pin"),
        "{err}"
    );
    // A wrong pin is refused, naming both keys.
    let wrong = format!("sha256:{}", "ab".repeat(32));
    let err = laptop.fails(&["sync", "--relay", &url, "--pin", &wrong]);
    assert!(
        err.contains("different key") && err.contains(&pin) && err.contains(&wrong),
        "{err}"
    );
    let err = laptop.fails(&["sync", "--relay", &url, "--pin", "sha256:12"]);
    assert!(err.contains("not a relay pin"), "{err}");

    laptop.ok(&["sync", "--relay", &url, "--pin", &pin]);
    let status = laptop.json(&["sync", "status"]);
    assert_eq!(status["pin"], pin.as_str());
    // A relay or pin that did not answer is not remembered: the one that
    // works stays.
    laptop.fails(&["sync", "--relay", &url, "--pin", &wrong]);
    laptop.fails(&["sync", "--relay", "wss://127.0.0.1:1"]);
    let status = laptop.json(&["sync", "status"]);
    assert_eq!(
        (&status["relay"], &status["pin"]),
        (&url.as_str().into(), &pin.as_str().into())
    );
    laptop.ok(&["sync"]);

    // The join code carries the pin: the phone needs nothing else.
    let code = pair(&laptop);
    let phone = Device::new();
    phone.ok(&["join", &code]);
    assert!(phone.has_interview(&first));
    live_both_ways(&laptop, &phone);

    // The relay keeps its key across restarts, so the pin stays valid.
    relay.restart();
    assert_eq!(relay.pin().as_deref(), Some(pin.as_str()));
    phone.ok(&["sync"]);
}

#[test]
fn an_invite_from_a_self_signed_relay_carries_its_pin() {
    let relay = relay_with(&["--tls", "self-signed", "--registration", "invite"], &[]);
    let pin = relay.pin().expect("the relay logs its pin");
    let out = Command::new(binary())
        .args(["relay", "invite", "--data"])
        .arg(relay.data.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let invite = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(invite.ends_with(&format!("@{pin}")), "{invite}");

    let laptop = Device::init();
    laptop.log(&["Acme"]);
    laptop.ok(&["sync", "--relay", &relay.url(), "--invite", &invite]);
    assert_eq!(laptop.json(&["sync", "status"])["pin"], pin.as_str());
    // The code worked once; the relay took it without the pin.
    let again = Device::init();
    let err = again.fails(&["sync", "--relay", &relay.url(), "--invite", &invite]);
    assert!(err.contains("invite"), "{err}");
}

#[test]
fn plaintext_to_a_public_address_draws_a_warning() {
    // Nothing listens there; the warning comes before any connection.
    let device = Device::init();
    let err = device.fails(&["sync", "--relay", "ws://relay.example.invalid:7878"]);
    let warning = err
        .lines()
        .find(|l| l.contains("not encrypted"))
        .unwrap_or_else(|| panic!("no warning in: {err}"));
    assert!(warning.contains("wss://"), "{warning}");
    let relay = TestRelay::start();
    let out = Device::init().run(&["sync", "--relay", &relay.url()]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not encrypted"));
}

#[test]
fn a_relay_gets_its_certificate_from_an_acme_server_and_devices_sync_through_it() {
    let Some(pebble) = installed("pebble", "pebble") else {
        return;
    };
    // pebble's own https listener needs a certificate; Debian ships none.
    let ca = TestCa::new();
    let (pebble_cert, pebble_key) = ca.issue("pebble", &["localhost", "127.0.0.1"]);
    let (acme, management, relay_port) = (free_port(), free_port(), free_port());
    let config = ca.dir.path().join("pebble.json");
    std::fs::write(
        &config,
        serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": pebble_cert,
            "privateKey": pebble_key,
            "httpPort": free_port(),
            // Where pebble checks the TLS-ALPN-01 challenge: the relay.
            "tlsPort": relay_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }})
        .to_string(),
    )
    .unwrap();
    let _pebble = Server(
        Command::new(pebble)
            .args(["-strict=false", "-config"])
            .arg(&config)
            // No random sleeps before validating, no rejected nonces.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble"),
    );
    eventually("pebble never answered", || {
        https_get("localhost", acme, "/dir", &ca.ca_file()).is_ok_and(|(s, _)| s == 200)
    });

    let directory = format!("https://localhost:{acme}/dir");
    let mut relay = TestRelay::start_with(
        tempfile::tempdir().unwrap(),
        &format!("127.0.0.1:{relay_port}"),
        &[
            "--tls-acme",
            "localhost",
            "--acme-directory",
            &directory,
            "--acme-email",
            "ops@example.com",
        ],
        &[("SSL_CERT_FILE", path(&ca.ca_file()))],
    );
    eventually_within(
        Duration::from_secs(90),
        "the relay never got a certificate",
        || relay.log().contains("DeployedNewCert"),
    );
    // Devices trust the ACME server's root, as they trust Let's Encrypt's.
    let (status, root) = https_get("localhost", management, "/roots/0", &ca.ca_file()).unwrap();
    assert_eq!(status, 200);
    let root_file = ca.dir.path().join("acme-root.pem");
    std::fs::write(&root_file, root).unwrap();

    let url = format!("wss://localhost:{relay_port}");
    let (_laptop, phone) = laptop_and_phone_through(&url, &root_file);

    // A restart serves the cached certificate: no second order.
    relay.restart();
    eventually(
        "the restarted relay never loaded its cached certificate",
        || relay.log().contains("DeployedCachedCert"),
    );
    phone.ok(&["sync"]);
}

#[test]
fn devices_sync_through_caddy_in_front_of_a_plain_relay() {
    let Some(caddy) = installed("caddy", "caddy") else {
        return;
    };
    let relay = TestRelay::start();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The recipe of docs/self-hosting.md, on loopback with Caddy's own CA
    // instead of a public domain.
    let caddyfile = dir.path().join("Caddyfile");
    std::fs::write(
        &caddyfile,
        format!(
            "{{\n\tadmin off\n\tskip_install_trust\n\tauto_https disable_redirects\n\
             \tstorage file_system {{\n\t\troot {storage}\n\t}}\n\thttps_port {port}\n\
             \tservers {{\n\t\tprotocols h1 h2\n\t}}\n}}\n\n\
             https://localhost:{port} {{\n\tbind 127.0.0.1\n\ttls internal\n\
             \treverse_proxy {relay}\n}}\n",
            storage = dir.path().join("storage").display(),
            relay = relay.addr,
        ),
    )
    .unwrap();
    let _caddy = Server(
        Command::new(caddy)
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&caddyfile)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start caddy"),
    );
    let root = dir.path().join("storage/pki/authorities/local/root.crt");
    eventually("caddy never served the relay", || {
        root.exists()
            && https_get("localhost", port, "/healthz", &root)
                .is_ok_and(|(s, b)| s == 200 && b == b"ok\n")
    });

    laptop_and_phone_through(&format!("wss://localhost:{port}"), &root);
}
