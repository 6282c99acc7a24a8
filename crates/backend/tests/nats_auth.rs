//! The NATS store against secured servers, through the documented options of the real
//! binary: TLS with a private CA (`tls://…` and `--nats-tls-ca`), user and password
//! (`--nats-user`/`--nats-password`, or in the URL), a token (`--nats-token`, or in the
//! URL). Each works, and each missing or wrong credential stops start-up
//! with a clear message that never echoes the secret. Certificates are made in the test
//! (rcgen): a self-signed CA and a server certificate for 127.0.0.1 signed by it.
#![allow(missing_docs, clippy::unwrap_used)]

mod nats_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nats_support::{Instance, NatsServer};
use serde_json::json;

/// Runs `chainwatch serve` expected to fail at start; returns its stderr.
fn start_fails(data_dir: &Path, store: &str, extra: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chainwatch"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(["--store", store, "--nats-stream", "AUTH", "--no-watch"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "start-up should have failed");
            let output = child.wait_with_output().unwrap();
            return String::from_utf8_lossy(&output.stderr).into_owned();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chainwatch kept running although it cannot use NATS");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A session created on `a` is served by `b`.
async fn one_session_across(a: &Instance, b: &Instance) {
    let http = reqwest::Client::new();
    a.wait_healthy(&http).await;
    b.wait_healthy(&http).await;
    let response = http
        .post(format!("{}/api/sessions", a.base()))
        .json(&json!({"id": "secure", "cwd": "/work/app"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let seq = response.json::<serde_json::Value>().await.unwrap()["lastSeq"]
        .as_u64()
        .unwrap();
    nats_support::wait_seq(&http, &b.base(), seq).await;
    let on_b: serde_json::Value = http
        .get(format!("{}/api/sessions/secure", b.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(on_b["cwd"], "/work/app");
}

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A CA and a server certificate for 127.0.0.1 and localhost, as PEM files.
    fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "chainwatch test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "nats test server");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("server-key.pem"), key.serialize_pem()).unwrap();
        // A second CA that signed nothing: trusting it must not be enough.
        let other_key = KeyPair::generate().unwrap();
        let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
        other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let other = other.self_signed(&other_key).unwrap();
        std::fs::write(dir.path().join("other-ca.pem"), other.pem()).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_works_and_an_untrusted_server_is_refused() {
    let pki = Pki::new();
    let nats = NatsServer::start_with(&[
        "--tls".into(),
        "--tlscert".into(),
        pki.path("server.pem"),
        "--tlskey".into(),
        pki.path("server-key.pem"),
    ]);
    let url = format!("tls://127.0.0.1:{}", nats.port);
    let dirs = tempfile::tempdir().unwrap();
    let ca = pki.path("ca.pem");
    let a = Instance::start(
        &dirs.path().join("a"),
        &url,
        "AUTH",
        &["--nats-tls-ca", &ca],
    );
    // nats:// with --nats-tls insists on TLS just the same.
    let plain_url = nats.url();
    let b = Instance::start(
        &dirs.path().join("b"),
        &plain_url,
        "AUTH",
        &["--nats-tls", "--nats-tls-ca", &ca],
    );
    one_session_across(&a, &b).await;
    // A CA that did not sign the server's certificate: no start, and a reason.
    let stderr = start_fails(
        &dirs.path().join("c"),
        &url,
        &["--nats-tls-ca", &pki.path("other-ca.pem")],
    );
    assert!(
        stderr.contains("cannot connect to NATS"),
        "unclear failure: {stderr}"
    );
    // No CA at all: the system roots do not know a private CA either.
    let stderr = start_fails(&dirs.path().join("d"), &url, &[]);
    assert!(
        stderr.contains("cannot connect to NATS"),
        "unclear failure: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_password_work_and_a_wrong_password_is_refused_without_echoing_it() {
    let nats = NatsServer::start_with(&[
        "--user".into(),
        "chainwatch".into(),
        "--pass".into(),
        "s3cret-pass".into(),
    ]);
    let dirs = tempfile::tempdir().unwrap();
    let a = Instance::start(
        &dirs.path().join("a"),
        &nats.url(),
        "AUTH",
        &[
            "--nats-user",
            "chainwatch",
            "--nats-password",
            "s3cret-pass",
        ],
    );
    // Credentials in the URL, as documented, work too.
    let b = Instance::start(
        &dirs.path().join("b"),
        &format!("nats://chainwatch:s3cret-pass@127.0.0.1:{}", nats.port),
        "AUTH",
        &[],
    );
    one_session_across(&a, &b).await;
    let stderr = start_fails(
        &dirs.path().join("c"),
        &nats.url(),
        &[
            "--nats-user",
            "chainwatch",
            "--nats-password",
            "wrong-guess",
        ],
    );
    assert!(
        stderr.contains("cannot connect to NATS"),
        "unclear failure: {stderr}"
    );
    assert!(
        !stderr.contains("wrong-guess"),
        "the password leaked: {stderr}"
    );
    let stderr = start_fails(
        &dirs.path().join("d"),
        &format!("nats://chainwatch:wrong-guess@127.0.0.1:{}", nats.port),
        &[],
    );
    assert!(
        stderr.contains("cannot connect to NATS"),
        "unclear failure: {stderr}"
    );
    assert!(
        !stderr.contains("wrong-guess"),
        "the password leaked: {stderr}"
    );
    let stderr = start_fails(&dirs.path().join("e"), &nats.url(), &[]);
    assert!(
        stderr.contains("cannot connect to NATS"),
        "unclear failure: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_works_and_a_missing_one_is_refused() {
    let nats = NatsServer::start_with(&["--auth".into(), "t0ken-value".into()]);
    let dirs = tempfile::tempdir().unwrap();
    let a = Instance::start(
        &dirs.path().join("a"),
        &nats.url(),
        "AUTH",
        &["--nats-token", "t0ken-value"],
    );
    // A token in the URL works too.
    let b = Instance::start(
        &dirs.path().join("b"),
        &format!("nats://t0ken-value@127.0.0.1:{}", nats.port),
        "AUTH",
        &[],
    );
    one_session_across(&a, &b).await;
    let stderr = start_fails(
        &dirs.path().join("c"),
        &nats.url(),
        &["--nats-token", "not-it"],
    );
    assert!(
        stderr.contains("cannot connect to NATS"),
        "unclear failure: {stderr}"
    );
    assert!(!stderr.contains("not-it"), "the token leaked: {stderr}");
}
